/** The kernel's mount table (/proc/self/mounts), as guestfsd reads it with getmntent(3). */
import { readFile } from 'node:fs/promises';
import { type ByteString, byteString } from './bytes.js';

export interface MountEntry {
  /** The device or source, e.g. /dev/sda1. */
  readonly fsname: ByteString;
  /** Where it is mounted (a host path). */
  readonly dir: ByteString;
  readonly type: ByteString;
  readonly options: ByteString;
}

/** The mount table in mount order. */
export async function mountTable(): Promise<MountEntry[]> {
  const text = byteString(await readFile('/proc/self/mounts'));
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [fsname = '', dir = '', type = '', options = ''] = line.split(' ').map(unescape);
      return { fsname, dir, type, options };
    });
}

/** getmntent's escapes: \040 for a space, \011 tab, \012 newline, \134 backslash. */
function unescape(field: ByteString): ByteString {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** The entries mounted at the sysroot or below it, in mount order. */
export async function mountsUnder(sysroot: string): Promise<MountEntry[]> {
  return (await mountTable()).filter((m) => m.dir === sysroot || m.dir.startsWith(`${sysroot}/`));
}

/** The guest path of a mount directory under the sysroot (`/` for the sysroot itself). */
export function guestMountpoint(sysroot: string, dir: ByteString): ByteString {
  return dir === sysroot ? '/' : dir.slice(sysroot.length);
}
