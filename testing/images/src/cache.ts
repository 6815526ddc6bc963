// The image cache: one file per key under CACHE_DIR, built at most once even when several
// test processes (or several checkouts) ask for the same key at the same time. A build
// writes a temporary name and renames it into place, so a cached file is always complete;
// a lock directory naming its builder keeps a second process waiting instead of building
// too. A lock left by a builder that died (killed, or the machine restarted) is taken over,
// and what that builder had half written is removed.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';

export const CACHE_DIR = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';

const POLL_MS = 2000;
/** How long a lock may stay without its owner written before it counts as abandoned. */
const OWNERLESS_LOCK_MS = 60_000;

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
 * (locks written by older versions, which other checkouts may still run, have no start
 * time; they read only `pid`, so that file keeps holding the pid alone).
 */
function ownerAlive(lock: string, pid: number): boolean {
  let started: string | undefined;
  try {
    started = readFileSync(join(lock, 'started'), 'utf8');
  } catch {
    // an older version's lock, or the owner is between writing its two files
  }
  if (started) return startTime(pid) === started;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what a dead builder left: NAME.tmp-PID and what it derived from that name. */
function removeLeftovers(name: string, pid: number): void {
  const temp = `${name}.tmp-${pid}`;
  for (const entry of readdirSync(CACHE_DIR)) {
    if (entry === temp || entry.startsWith(`${temp}.`)) {
      rmSync(join(CACHE_DIR, entry), { recursive: true, force: true });
    }
  }
}

/** Tries to take the lock; returns false while another live process holds it. */
function tryLock(lock: string, name: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    writeFileSync(join(lock, 'started'), startTime(process.pid) ?? '');
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    // No owner written: the builder is between mkdir and writing it, or died there.
    try {
      if (Date.now() - statSync(lock).mtimeMs < OWNERLESS_LOCK_MS) return false;
    } catch {
      return false; // released meanwhile: the next poll takes it
    }
  }
  if (owner !== undefined) {
    if (ownerAlive(lock, owner)) return false;
    removeLeftovers(name, owner);
  }
  rmSync(lock, { recursive: true, force: true });
  return tryLock(lock, name);
}

/**
 * Returns `CACHE_DIR/name`, calling `build(tempPath)` first unless it exists. `build` must
 * write its result to `tempPath`; it is renamed into place only when `build` succeeds.
 */
export async function cached(
  name: string,
  build: (tempPath: string) => Promise<void>,
): Promise<string> {
  const target = join(CACHE_DIR, name);
  const lock = `${target}.lock`;
  mkdirSync(CACHE_DIR, { recursive: true });
  for (;;) {
    if (existsSync(target)) return target;
    if (tryLock(lock, name)) break;
    await sleep(POLL_MS);
  }
  try {
    if (existsSync(target)) return target; // finished while we took the lock
    const temp = `${target}.tmp-${process.pid}`;
    rmSync(temp, { recursive: true, force: true });
    try {
      await build(temp);
      renameSync(temp, target);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
    return target;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
