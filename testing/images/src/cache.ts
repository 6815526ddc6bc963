// The image cache: one file per key under CACHE_DIR, built at most once even when several
// test processes (or several checkouts) ask for the same key at the same time. A build
// writes a temporary name and renames it into place, so a cached file is always complete;
// a lock directory holding the builder's pid keeps a second process waiting instead of
// building too, and a lock left by a builder that died is taken over.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';

export const CACHE_DIR = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';

const POLL_MS = 2000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Tries to take the lock; returns false while another live process holds it. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false; // the owner is between mkdir and writing its pid
  }
  if (processAlive(owner)) return false;
  rmSync(lock, { recursive: true, force: true }); // its builder died: take over
  return tryLock(lock);
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
    if (tryLock(lock)) break;
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
