// What the worker processes of one server must share (see `--workers`): values chosen once,
// such as a random seed, and files, such as a RAM disk's pages. The process that configures
// the stack first creates them; the workers it starts inherit them (the files as open
// descriptors) and find them again when their own instances of the plugin ask, in the same
// order, under the same labels. In a process without workers they are simply created.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError, messageOf } from './errors.js';

/** Anything JSON can carry. */
export type SharedValue =
  string | number | boolean | null | SharedValue[] | { [key: string]: SharedValue };

/** What a worker inherits: values by key, and files by key as descriptor numbers. */
export interface SharedResources {
  values: Record<string, SharedValue>;
  files: Record<string, number>;
}

const created: SharedResources = { values: {}, files: {} };
let inherited: SharedResources | undefined;
const asked = new Map<string, number>();

/** Two instances asking under one label get a key each: "memory#1", "memory#2". */
function keyFor(label: string): string {
  const n = (asked.get(label) ?? 0) + 1;
  asked.set(label, n);
  return `${label}#${n}`;
}

function fromParent<T>(kind: 'values' | 'files', key: string): T | undefined {
  if (!inherited) return undefined;
  const found = inherited[kind][key];
  if (found === undefined) {
    // The worker configured its stack differently from the process that started it.
    throw new Error(`worker: no shared ${kind === 'values' ? 'value' : 'file'} ${key}`);
  }
  return found as T;
}

/** A value made once per server, e.g. a seed chosen at random. */
export async function sharedValue<T extends SharedValue>(
  label: string,
  make: () => T | Promise<T>,
): Promise<T> {
  const key = keyFor(label);
  const value = fromParent<T>('values', key) ?? (await make());
  created.values[key] = value;
  return value;
}

/**
 * An open, unlinked temporary file in `directory` that every worker reads and writes: its
 * descriptor, and whether it was created here (a new file, to be filled) or inherited (a
 * worker's: it may hold what clients have written since).
 */
export function sharedFile(label: string, directory: string): { fd: number; created: boolean } {
  const key = keyFor(label);
  const inheritedFd = fromParent<number>('files', key);
  if (inheritedFd !== undefined) {
    created.files[key] = inheritedFd;
    return { fd: inheritedFd, created: false };
  }
  const path = join(directory, `tsnbd-${label}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (err) {
    throw new ConfigError(`${label}: cannot create a file in ${directory}: ${messageOf(err)}`);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  created.files[key] = fd;
  return { fd, created: true };
}

/** Everything created or inherited so far, to hand to worker processes. */
export function sharedResources(): SharedResources {
  return { values: { ...created.values }, files: { ...created.files } };
}

/** In a worker, before its stack is configured: what the parent process shared. */
export function inheritSharedResources(resources: SharedResources): void {
  inherited = resources;
}
