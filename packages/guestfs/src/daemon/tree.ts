/**
 * Walking, removing and copying inside the guest through open directories, never by path:
 * a directory replaced by a symlink while it is being walked makes the walk fail, not leave
 * the guest (the mistake `rm -rf` implementations have made: CVE-2022-21658).
 */
import type { BigIntStats, OpenDirOptions } from 'node:fs';
import { constants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  open,
  opendir,
  readlink,
  rmdir,
  symlink,
  unlink,
} from 'node:fs/promises';
import { type ByteString, byteString } from './bytes.js';
import { O_PATH, type Located, atPath, fdPath } from './guest-path.js';
import { UMASK, openForReading, openForWriting } from './open-file.js';

const DIRECTORY = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const COPY_BUFFER = 1024 * 1024;

/** Opens a subdirectory by name without following a symlink there. */
export function openDirectory(parent: FileHandle, name: ByteString): Promise<FileHandle> {
  return open(atPath(parent, name), DIRECTORY);
}

/**
 * The names in an open directory, without `.` and `..`, in the directory's own order (as
 * readdir(3) gives them; fs.readdir would sort them).
 */
export async function entries(dir: FileHandle): Promise<ByteString[]> {
  const names: ByteString[] = [];
  // Node's types know only text encodings here; 'buffer' gives each name as its bytes.
  // 256 entries per read: each read is a round trip to libuv's thread pool (slow under TCG).
  const asBytes = { encoding: 'buffer', bufferSize: 256 } as unknown as OpenDirOptions;
  for await (const entry of await opendir(fdPath(dir), asBytes)) {
    names.push(byteString(entry.name as unknown as Buffer));
  }
  return names;
}

/** Removes a file, or a directory and everything below it. */
export async function removeTree(
  parent: FileHandle,
  name: ByteString,
  stat: BigIntStats,
): Promise<void> {
  if (!stat.isDirectory()) return unlink(atPath(parent, name));
  const dir = await openDirectory(parent, name);
  try {
    for (const child of await entries(dir)) {
      await removeTree(dir, child, await lstat(atPath(dir, child), { bigint: true }));
    }
  } finally {
    await dir.close();
  }
  await rmdir(atPath(parent, name));
}

/**
 * Visits everything below an open directory, parents before children, with each one's path
 * relative to the top (`/a`, `/a/b`): what find(1) prints. The visitor may stop the walk.
 */
export async function walk(
  dir: FileHandle,
  visit: (relative: ByteString) => Promise<boolean>,
  prefix = '',
): Promise<boolean> {
  for (const name of await entries(dir)) {
    const relative = `${prefix}/${name}`;
    if (!(await visit(relative))) return false;
    let sub: FileHandle;
    try {
      sub = await openDirectory(dir, name);
    } catch {
      continue; // not a directory (or a symlink to one): nothing below it
    }
    try {
      if (!(await walk(sub, visit, relative))) return false;
    } finally {
      await sub.close();
    }
  }
  return true;
}

/**
 * Copies a file to another place in the guest. `umask`: a new file gets the source's
 * permissions less the umask, as cp(1); `preserve`: mode, owner and times too, as mv(1)
 * between filesystems; `symlink`: the source is a symlink, recreated as one.
 */
export async function copyFile(
  from: Located,
  to: Located,
  mode: 'umask' | 'preserve' | 'symlink',
): Promise<void> {
  if (mode === 'symlink') {
    const target = await readlink(from.at, { encoding: 'buffer' });
    if (to.stat !== null) await unlink(to.at);
    return symlink(target, to.at);
  }
  const source = await openForReading(from, from.canonical);
  try {
    const created = to.stat === null;
    const target = await openForWriting(to, to.canonical, 'truncate');
    try {
      const buffer = Buffer.alloc(COPY_BUFFER);
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) break;
        await target.write(buffer, 0, bytesRead, null);
      }
      const s = await source.stat({ bigint: true });
      const permissions = Number(s.mode & 0o7777n);
      if (mode === 'preserve') {
        await target.chown(Number(s.uid), Number(s.gid));
        await target.chmod(permissions);
        await target.utimes(Number(s.atimeMs) / 1000, Number(s.mtimeMs) / 1000);
      } else if (created) {
        await target.chmod(permissions & 0o777 & ~UMASK);
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
