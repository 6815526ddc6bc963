/**
 * Opening guest files for I/O. Through a guest path the daemon reads and writes regular
 * files only: a device node in the guest's tree would open the appliance's device with the
 * same numbers (another disk, the appliance's own), and a FIFO would block the daemon. The
 * last name is opened with O_NOFOLLOW (the walk has already followed what it should) and
 * O_NONBLOCK (a FIFO put there since the walk does not block), and checked again once open.
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ByteString } from './bytes.js';
import { DaemonError, sysError } from './errors.js';
import type { Located } from './guest-path.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK } =
  constants;

export type WriteMode = 'truncate' | 'append' | 'keep';

/** The daemon's umask (guestfsd documents 022): new files are 0644, directories 0755. */
export const UMASK = 0o022;

export function kindOf(stat: BigIntStats): string {
  if (stat.isFile()) return 'regular file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symbolic link';
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isBlockDevice()) return 'block device';
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isSocket()) return 'socket';
  return 'special file';
}

/** Refuses what is not a regular file; a directory is EISDIR, as open(2) would say. */
function checkRegular(stat: BigIntStats, path: ByteString): void {
  if (stat.isFile()) return;
  if (stat.isDirectory()) throw sysError('EISDIR');
  throw new DaemonError(
    'EINVAL',
    `${path}: is a ${kindOf(stat)}; through guest paths this daemon reads and writes regular files only`,
  );
}

async function openChecked(located: Located, flags: number, path: ByteString): Promise<FileHandle> {
  if (located.stat !== null) checkRegular(located.stat, path);
  const handle = await open(located.at, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o666);
  try {
    const stat = await handle.stat({ bigint: true });
    checkRegular(stat, path);
    if (located.stat !== null && (stat.ino !== located.stat.ino || stat.dev !== located.stat.dev)) {
      throw new DaemonError('EAGAIN', `${path}: changed while it was being opened`);
    }
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** An existing regular file, for reading. */
export function openForReading(located: Located, path: ByteString): Promise<FileHandle> {
  if (located.stat === null) throw sysError('ENOENT');
  return openChecked(located, O_RDONLY, path);
}

/** A regular file for writing, created (mode 0666 less the umask) if missing. */
export function openForWriting(
  located: Located,
  path: ByteString,
  mode: WriteMode,
): Promise<FileHandle> {
  const extra = mode === 'truncate' ? O_TRUNC : mode === 'append' ? O_APPEND : 0;
  return openChecked(located, O_WRONLY | O_CREAT | extra, path);
}
