/**
 * Guest paths, resolved under the sysroot as a chroot would, without chroot (Node has none).
 *
 * The walk goes one component at a time through directories held open (O_PATH|O_NOFOLLOW),
 * and reaches each name through its directory's descriptor, as `/proc/self/fd/N/NAME`: the
 * kernel then walks only NAME, from the directory already open, the way openat(2) does. So:
 * - a symlink is read (readlink) and its target walked again by the same rules, an absolute
 *   target from the guest's root; `..` goes back to the directory it came from and stops at
 *   the root; 40 links at most (ELOOP), as the kernel;
 * - what the walk ends on is named by an open directory and one name, and the operation uses
 *   that (`located.at`), never the path again: renaming a directory above it, or putting a
 *   symlink in place of one, cannot make it land outside the root afterwards;
 * - the last name is followed or not as the operation says; operations that must not follow
 *   it open it with O_NOFOLLOW.
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readlink } from 'node:fs/promises';
import { type ByteString, byteString, bytesOf } from './bytes.js';
import { isErrno, sysError } from './errors.js';

/** O_PATH (Linux): a descriptor that names a file without opening it for I/O. */
export const O_PATH = 0o10000000;
const DIRECTORY = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** The kernel's limit on symlinks followed in one path (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/** A guest path resolved under the sysroot: its directory, held open, and its last name. */
export interface Located {
  /** The resolved guest path (`/etc/shadow` for `/x/../etc/shadow`), for messages. */
  readonly canonical: ByteString;
  /** The last name ('.' for the root itself). */
  readonly name: ByteString;
  /** What the walk ended on, not followed; null when the last name does not exist. */
  readonly stat: BigIntStats | null;
  /** `/proc/self/fd/DIR/NAME`: the file, reached from its open directory. */
  readonly at: Buffer;
  /** The directory it is in, held open until release(). */
  readonly dir: FileHandle;
  release(): Promise<void>;
}

export interface LocateOptions {
  /** Follow the last name if it is a symlink (stat) or not (lstat). */
  readonly follow: boolean;
}

/** `/proc/self/fd/N/NAME` as bytes. */
export function atPath(dir: FileHandle, name: ByteString): Buffer {
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), bytesOf(name)]);
}

/** The descriptor's own path: `/proc/self/fd/N` (reaches the file it holds). */
export function fdPath(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

export class Sysroot {
  /** @param path the host directory the guest's root is mounted on (e.g. /sysroot) */
  constructor(readonly path: ByteString) {}

  /**
   * Resolves an absolute guest path. The last name may be missing (stat null: for calls
   * that create it); a missing directory before it is ENOENT, a non-directory ENOTDIR.
   * Errors are thrown as system errors (code ENOENT, ENOTDIR, ELOOP...), for the caller to
   * put in its own words. The caller must release() what it gets.
   */
  async locate(path: ByteString, options: LocateOptions): Promise<Located> {
    const trailingSlash = path.length > 1 && path.endsWith('/');
    /** Components still to walk, the next one last. */
    const pending = path.split('/').reverse();
    /** Open directories from the root down, and their names. */
    const dirs: FileHandle[] = [await open(bytesOf(this.path), DIRECTORY)];
    const names: ByteString[] = [];
    let links = 0;
    const remainsSomething = (): boolean => pending.some((c) => c !== '' && c !== '.');
    try {
      for (;;) {
        const name = pending.pop();
        if (name === undefined) break;
        if (name === '' || name === '.') continue;
        if (name === '..') {
          if (dirs.length > 1) {
            await dirs.pop()!.close();
            names.pop();
          }
          continue;
        }
        const last = !remainsSomething();
        const parent = dirs.at(-1)!;
        let stat: BigIntStats;
        try {
          stat = await lstat(atPath(parent, name), { bigint: true });
        } catch (e) {
          if (last && !trailingSlash && isErrno(e, 'ENOENT')) {
            return this.located(dirs, names, name, null);
          }
          throw e;
        }
        if (stat.isSymbolicLink() && (!last || options.follow || trailingSlash)) {
          if (++links > MAX_SYMLINKS) throw sysError('ELOOP');
          const target = byteString(await readlink(atPath(parent, name), { encoding: 'buffer' }));
          if (target === '') throw sysError('ENOENT');
          if (target.startsWith('/')) {
            for (const d of dirs.splice(1)) await d.close();
            names.length = 0;
          }
          pending.push(...target.split('/').reverse());
          continue;
        }
        if (last && !trailingSlash) return this.located(dirs, names, name, stat);
        if (!stat.isDirectory()) throw sysError('ENOTDIR');
        dirs.push(await open(atPath(parent, name), DIRECTORY));
        names.push(name);
      }
      // The walk ended on a directory (the root, `..`, a trailing slash): name it by '.'.
      const dir = dirs.at(-1)!;
      return this.located(dirs, names, '.', await lstat(atPath(dir, '.'), { bigint: true }));
    } catch (e) {
      for (const d of dirs) await d.close();
      throw e;
    }
  }

  /** Runs `f` on a located path and releases it afterwards. */
  async with<T>(
    path: ByteString,
    options: LocateOptions,
    f: (located: Located) => T | Promise<T>,
  ): Promise<T> {
    const located = await this.locate(path, options);
    try {
      return await f(located);
    } finally {
      await located.release();
    }
  }

  /** Keeps the last directory open for the caller, closes the others. */
  private async located(
    dirs: FileHandle[],
    names: ByteString[],
    name: ByteString,
    stat: BigIntStats | null,
  ): Promise<Located> {
    const dir = dirs.pop()!;
    for (const d of dirs) await d.close();
    const parts = name === '.' ? names : [...names, name];
    return {
      canonical: `/${parts.join('/')}`,
      name,
      stat,
      at: atPath(dir, name),
      dir,
      release: () => dir.close(),
    };
  }
}
