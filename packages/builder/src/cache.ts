// The build cache: one entry per name in a directory, built at most once even when several
// processes (or several checkouts sharing the directory) ask for it at the same time. A build
// writes a temporary name and renames it into place, so an entry is always complete; a lock
// directory holding the builder's pid and start time keeps a second process waiting
// instead of building too, and a lock left by a builder that died (even one whose pid now
// belongs to another process) is taken over, with its temporary files.
//
// File entries also keep their SHA-256 beside them (`NAME.sha256`, in sha256sum's format), so
// that whoever reads an entry can tell a damaged one and have it built again.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuilderError } from './errors.js';

const POLL_MS = 2000;

/** How long a lock may have no pid in it before it is taken for a dead builder's. */
const PIDLESS_LOCK_MS = 60_000;

/**
 * A process's start time (clock ticks since boot, /proc/PID/stat field 22), so that a pid
 * reused by another process does not keep a dead builder's lock alive; undefined when the
 * process does not exist.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock's owner still runs: its pid, and the start time written beside it
 * (locks written by older checkouts sharing the cache have no start time; they read only
 * `pid`, so that file keeps holding the pid alone).
 */
function ownerAlive(lock: string, pid: number): boolean {
  let started: string | undefined;
  try {
    started = readFileSync(join(lock, 'started'), 'utf8');
  } catch {
    // an older checkout's lock, or the owner is between writing its two files
  }
  if (started) return startTime(pid) === started;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `lock` exists and is older than `ms` (false when it is gone). */
function olderThan(lock: string, ms: number): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Tries to take the lock; returns false while another live process holds it. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    writeFileSync(join(lock, 'started'), startTime(process.pid) ?? '');
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let owner: number;
  try {
    owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    // The owner is between mkdir and writing its pid, or was killed there: a lock without
    // a pid for longer than that takes is left over.
    if (!olderThan(lock, PIDLESS_LOCK_MS)) return false;
    owner = NaN;
  }
  if (!Number.isNaN(owner) && ownerAlive(lock, owner)) return false;
  rmSync(lock, { recursive: true, force: true }); // its builder died: take over
  return tryLock(lock);
}

/** Runs `work` holding the lock of `target`; removes every `TARGET.tmp-*` left by a
 *  builder that died (while we hold the lock, nobody else is building it). */
async function withLock<T>(target: string, work: () => Promise<T>): Promise<T> {
  const lock = `${target}.lock`;
  while (!tryLock(lock)) await sleep(POLL_MS);
  try {
    const prefix = `${basename(target)}.tmp-`;
    for (const name of readdirSync(dirname(target)))
      if (name.startsWith(prefix))
        rmSync(join(dirname(target), name), { recursive: true, force: true });
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Where a build writes: `TARGET.tmp-PID`. A build may also make other paths that start with
 *  it (a work directory `TEMP.work`...): they are removed with it. */
function tempFor(target: string): string {
  return `${target}.tmp-${process.pid}`;
}

function removeTemps(temp: string): void {
  const prefix = basename(temp);
  for (const name of readdirSync(dirname(temp)))
    if (name.startsWith(prefix))
      rmSync(join(dirname(temp), name), { recursive: true, force: true });
}

/**
 * Returns `dir/name`, calling `build(tempPath)` first unless it exists. `build` must write
 * its result (a file or a directory) to `tempPath`; it is renamed into place only when
 * `build` succeeds.
 */
export async function cached(
  dir: string,
  name: string,
  build: (tempPath: string) => Promise<void>,
): Promise<string> {
  const target = join(dir, name);
  mkdirSync(dir, { recursive: true });
  if (existsSync(target)) return target;
  await withLock(target, async () => {
    if (existsSync(target)) return; // finished while we waited for the lock
    const temp = tempFor(target);
    try {
      await build(temp);
      renameSync(temp, target);
    } finally {
      removeTemps(temp);
    }
  });
  return target;
}

/** A cached file and the SHA-256 it had when it was made. */
export interface CachedFile {
  path: string;
  sha256: string;
}

const checksumPath = (path: string): string => `${path}.sha256`;

function readChecksum(path: string): string | null {
  try {
    const hex = readFileSync(checksumPath(path), 'utf8').split(/\s/)[0] ?? '';
    return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
  } catch {
    return null;
  }
}

/** A stream that passes bytes through and hashes them. */
function hasher(): { transform: Transform; digest: () => string } {
  const hash = createHash('sha256');
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, digest: () => hash.digest('hex') };
}

/** The SHA-256 of a file. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash, { signal });
  return hash.digest('hex');
}

/** Copies a file and returns the SHA-256 of what it read: one pass for both. */
export async function copyHashed(
  source: string,
  destination: string,
  signal?: AbortSignal,
): Promise<string> {
  const { transform, digest } = hasher();
  await pipeline(
    createReadStream(source, { highWaterMark: 1 << 20 }),
    transform,
    createWriteStream(destination, { flags: 'wx' }),
    { signal },
  );
  return digest();
}

/**
 * `cached` for a file, with its checksum: returns the file and its SHA-256 as recorded when it
 * was built. A file without a valid checksum beside it (a build that was cut off between the
 * two, or an older cache) is built again.
 */
export async function cachedFile(
  dir: string,
  name: string,
  build: (tempPath: string) => Promise<void>,
): Promise<CachedFile> {
  const target = join(dir, name);
  mkdirSync(dir, { recursive: true });
  for (;;) {
    const sha256 = existsSync(target) ? readChecksum(target) : null;
    if (sha256 !== null) return { path: target, sha256 };
    await withLock(target, async () => {
      if (existsSync(target) && readChecksum(target) !== null) return; // built meanwhile
      const temp = tempFor(target);
      try {
        await build(temp);
        const digest = await sha256File(temp);
        writeFileSync(`${temp}.sha256`, `${digest}  ${name}\n`);
        // The checksum first: a file in place always has its checksum beside it.
        renameSync(`${temp}.sha256`, checksumPath(target));
        renameSync(temp, target);
      } finally {
        removeTemps(temp);
      }
    });
  }
}

/**
 * Reads a cached file through `use`, which returns the SHA-256 of what it read. When that is
 * not the recorded checksum, the entry is damaged: it is removed, built again, and `use` runs
 * once more (`onDamaged` is told). A second mismatch means the disk does not keep what is
 * written to it: an error.
 */
export async function useCachedFile<T>(
  dir: string,
  name: string,
  build: (tempPath: string) => Promise<void>,
  use: (path: string) => Promise<{ sha256: string; result: T }>,
  onDamaged?: (path: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const entry = await cachedFile(dir, name, build);
    const identity = statSync(entry.path);
    const { sha256, result } = await use(entry.path);
    if (sha256 === entry.sha256) return result;
    if (attempt === 2) {
      throw new BuilderError(
        'COMMAND_FAILED',
        `${entry.path} does not match its checksum even just after it was built (expected ${entry.sha256}, read ${sha256}); check the disk holding ${dir}`,
      );
    }
    onDamaged?.(entry.path);
    await discard(entry.path, identity.ino);
  }
}

/** Removes a damaged entry, unless another process has replaced it meanwhile. */
async function discard(path: string, inode: number): Promise<void> {
  await withLock(path, () => {
    try {
      if (statSync(path).ino === inode) {
        rmSync(checksumPath(path), { force: true });
        rmSync(path, { force: true });
      }
    } catch {
      // gone already
    }
    return Promise.resolve();
  });
}
