/**
 * Files and directories of the mounted guest: tests, creation, removal, moves, links, modes,
 * status. Every path goes through the sysroot's walk (guest-path.ts); errors are worded as
 * guestfsd words them (C: "PATH: strerror"; its OCaml parts: "SYSCALL: PATH: strerror").
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import {
  type FileHandle,
  chmod,
  mkdir,
  open,
  readlink,
  rename,
  symlink,
  unlink,
} from 'node:fs/promises';
import type { GuestfsIntStatns, GuestfsIntStatvfs } from '../../protocol/xdr.generated.js';
import { type ByteString, byteString } from '../bytes.js';
import type { Call } from '../call.js';
import { DaemonError, failure, isErrno, perror, sysError } from '../errors.js';
import { O_PATH, fdPath } from '../guest-path.js';
import type { Handlers } from '../handler.js';
import { guestMountpoint, mountTable } from '../mounts.js';
import { openForWriting } from '../open-file.js';
import { command } from '../run.js';
import { copyFile, removeTree } from '../tree.js';

/** Whether the path is a file of this kind; missing (or under a non-directory) is false. */
async function isKind(
  call: Call,
  path: ByteString,
  follow: boolean,
  test: (s: BigIntStats) => boolean,
): Promise<boolean> {
  try {
    return await call.sysroot.with(path, { follow }, (f) => f.stat !== null && test(f.stat));
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return false;
    throw perror(e, `stat: ${path}`);
  }
}

/** stat(2) of a guest path (following it), or lstat(2). */
async function statOf(call: Call, path: ByteString, follow: boolean): Promise<BigIntStats> {
  try {
    const stat = await call.sysroot.with(path, { follow }, (f) => f.stat);
    if (stat === null) throw sysError('ENOENT');
    return stat;
  } catch (e) {
    throw perror(e, path);
  }
}

function statns(s: BigIntStats): GuestfsIntStatns {
  const sec = (ns: bigint): bigint => ns / 1_000_000_000n;
  const nsec = (ns: bigint): bigint => ns % 1_000_000_000n;
  return {
    st_dev: s.dev,
    st_ino: s.ino,
    st_mode: s.mode,
    st_nlink: s.nlink,
    st_uid: s.uid,
    st_gid: s.gid,
    st_rdev: s.rdev,
    st_size: s.size,
    st_blksize: s.blksize,
    st_blocks: s.blocks,
    st_atime_sec: sec(s.atimeNs),
    st_atime_nsec: nsec(s.atimeNs),
    st_mtime_sec: sec(s.mtimeNs),
    st_mtime_nsec: nsec(s.mtimeNs),
    st_ctime_sec: sec(s.ctimeNs),
    st_ctime_nsec: nsec(s.ctimeNs),
    st_spare1: 0n,
    st_spare2: 0n,
    st_spare3: 0n,
    st_spare4: 0n,
    st_spare5: 0n,
    st_spare6: 0n,
  };
}

/** The last path component, trailing slashes ignored (basename(1)). */
function basename(path: ByteString): ByteString {
  return path.replace(/\/+$/, '').split('/').pop() || '/';
}

/** `cp`/`mv`/`ln` into a directory: DEST/basename(SRC) when DEST is an existing directory. */
async function destinationIn(call: Call, dest: ByteString, name: ByteString): Promise<ByteString> {
  const intoDirectory = await isKind(call, dest, true, (s) => s.isDirectory());
  return intoDirectory ? `${dest.replace(/\/+$/, '')}/${name}` : dest;
}

/** statvfs(3)'s ST_* flags, from the mount options of the filesystem holding the file. */
const MOUNT_FLAGS: Readonly<Record<string, bigint>> = {
  ro: 1n,
  nosuid: 2n,
  nodev: 4n,
  noexec: 8n,
  sync: 16n,
  mand: 64n,
  noatime: 1024n,
  nodiratime: 2048n,
  relatime: 4096n,
};

async function mountFlags(call: Call, canonical: ByteString): Promise<bigint> {
  // The deepest mount at or above the file.
  let best: { depth: number; options: string } | null = null;
  for (const m of await mountTable()) {
    if (m.dir !== call.sysroot.path && !m.dir.startsWith(`${call.sysroot.path}/`)) continue;
    const at = guestMountpoint(call.sysroot.path, m.dir);
    const within = at === '/' || canonical === at || canonical.startsWith(`${at}/`);
    if (within && (best === null || at.length >= best.depth)) {
      best = { depth: at.length, options: m.options };
    }
  }
  let flags = 0n;
  for (const option of best?.options.split(',') ?? []) flags |= MOUNT_FLAGS[option] ?? 0n;
  return flags;
}

/**
 * statvfs(3)'s f_fsid (val[0] in the low half, val[1] in the high) from `stat -f`'s %i (val[0]
 * printed first), as the signed int64 guestfsd sends.
 */
function statvfsFsid(hex: string): bigint {
  const printed = BigInt(`0x${hex}`);
  return BigInt.asIntN(64, ((printed & 0xffffffffn) << 32n) | (printed >> 32n));
}

export const fileHandlers = {
  is_file: ({ path, followsymlinks }, call) =>
    isKind(call, path, followsymlinks ?? false, (s) => s.isFile()),

  is_dir: ({ path, followsymlinks }, call) =>
    isKind(call, path, followsymlinks ?? false, (s) => s.isDirectory()),

  exists: ({ path }, call) => isKind(call, path, false, () => true),

  filesize: async ({ file }, call) => (await statOf(call, file, true)).size,

  statns: async ({ path }, call) => statns(await statOf(call, path, true)),

  lstatns: async ({ path }, call) => statns(await statOf(call, path, false)),

  mkdir: async ({ path }, call) => {
    try {
      await call.sysroot.with(path, { follow: false }, (f) => mkdir(f.at, 0o777));
    } catch (e) {
      throw perror(e, path);
    }
  },

  mkdir_p: async ({ path }, call) => {
    // Each component in turn: symlinks to directories in the middle are followed (inside the
    // guest), an existing last component must be a directory itself (guestfsd uses lstat).
    const parts = path.split('/').filter((p) => p !== '');
    try {
      for (let i = 1; i <= parts.length; i++) {
        const prefix = `/${parts.slice(0, i).join('/')}`;
        const last = i === parts.length;
        await call.sysroot.with(prefix, { follow: !last }, async (f) => {
          if (f.stat === null) {
            await mkdir(f.at, 0o777).catch((e: unknown) => {
              if (!isErrno(e, 'EEXIST')) throw e;
            });
            return;
          }
          const isDirectory = last ? f.stat.isDirectory() : true;
          if (!isDirectory) throw failure(`${path}: a path element was not a directory`);
        });
      }
    } catch (e) {
      if (isErrno(e, 'ENOTDIR')) throw failure(`${path}: a path element was not a directory`);
      throw perror(e, path);
    }
  },

  rm: async ({ path }, call) => {
    try {
      await call.sysroot.with(path, { follow: false }, (f) => unlink(f.at));
    } catch (e) {
      throw perror(e, path);
    }
  },

  rm_f: async ({ path }, call) => {
    try {
      await call.sysroot.with(path, { follow: false }, (f) => unlink(f.at));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw perror(e, path);
    }
  },

  rm_rf: async ({ path }, call) => {
    if (path === '/') throw failure('cannot remove root directory');
    try {
      await call.sysroot.with(path, { follow: false }, async (f) => {
        if (f.name === '.') throw failure(`${path}: is the root directory; refusing to remove it`);
        if (f.stat !== null) await removeTree(f.dir, f.name, f.stat);
      });
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return; // rm -rf: nothing there is success
      throw perror(e, path);
    }
  },

  mv: async ({ src, dest }, call) => {
    const target = await destinationIn(call, dest, basename(src));
    try {
      await call.sysroot.with(src, { follow: false }, (from) => {
        if (from.stat === null) throw perror(sysError('ENOENT'), `mv: cannot stat '${src}'`);
        return call.sysroot.with(target, { follow: false }, async (to) => {
          try {
            await rename(from.at, to.at);
          } catch (e) {
            if (!isErrno(e, 'EXDEV') || from.stat === null || from.stat.isDirectory()) throw e;
            // Another filesystem: copy, then remove the original (mv(1) does the same).
            await copyFile(from, to, from.stat.isSymbolicLink() ? 'symlink' : 'preserve');
            await unlink(from.at);
          }
        });
      });
    } catch (e) {
      throw perror(e, `mv: cannot move '${src}' to '${target}'`);
    }
  },

  cp: async ({ src, dest }, call) => {
    const target = await destinationIn(call, dest, basename(src));
    try {
      await call.sysroot.with(src, { follow: true }, (from) => {
        if (from.stat === null) throw perror(sysError('ENOENT'), `cp: cannot stat '${src}'`);
        if (from.stat.isDirectory())
          throw failure(`cp: -r not specified; omitting directory '${src}'`);
        return call.sysroot.with(target, { follow: true }, (to) => copyFile(from, to, 'umask'));
      });
    } catch (e) {
      throw perror(e, `cp: cannot copy '${src}' to '${target}'`);
    }
  },

  ln_sf: async ({ target, linkname }, call) => {
    const link = await destinationIn(call, linkname, basename(target));
    try {
      await call.sysroot.with(link, { follow: false }, async (f) => {
        if (f.stat?.isDirectory()) throw failure(`'${link}': cannot overwrite directory`);
        if (f.stat !== null) await unlink(f.at);
        await symlink(target, f.at);
      });
    } catch (e) {
      if (e instanceof DaemonError) throw failure(`ln -sf: ${target}: ${linkname}: ${e.message}`);
      throw perror(e, `ln -sf: ${target}: ${linkname}`);
    }
  },

  chmod: async ({ mode, path }, call) => {
    if (mode < 0) throw failure(`${path}: mode is negative`);
    try {
      await call.sysroot.with(path, { follow: true }, async (f) => {
        if (f.stat === null) throw sysError('ENOENT');
        // chmod(2) by path would follow a symlink put there since the walk: change the
        // inode the walk found, through a descriptor of it instead.
        const handle = await open(f.at, O_PATH | constants.O_NOFOLLOW);
        try {
          const s = await handle.stat({ bigint: true });
          if (s.isSymbolicLink()) throw failure(`${path}: is a symbolic link`);
          await chmod(fdPath(handle), mode);
        } finally {
          await handle.close();
        }
      });
    } catch (e) {
      throw perror(e, `${path}: 0${mode.toString(8)}`);
    }
  },

  touch: async ({ path }, call) => {
    let handle: FileHandle;
    try {
      handle = await call.sysroot.with(path, { follow: false }, (f) => {
        if (f.stat !== null && !f.stat.isFile()) {
          throw failure(`${path}: touch can only be used on a regular files`);
        }
        return openForWriting(f, path, 'keep');
      });
    } catch (e) {
      throw perror(e, `open: ${path}`);
    }
    try {
      const now = new Date();
      await handle.utimes(now, now);
    } catch (e) {
      throw perror(e, `futimens: ${path}`);
    } finally {
      await handle.close();
    }
  },

  readlink: async ({ path }, call) => {
    try {
      return await call.sysroot.with(path, { follow: false }, async (f) =>
        byteString(await readlink(f.at, { encoding: 'buffer' })),
      );
    } catch (e) {
      throw perror(e, `readlink: ${path}`);
    }
  },

  realpath: async ({ path }, call) => {
    try {
      return await call.sysroot.with(path, { follow: true }, (f) => {
        if (f.stat === null) throw sysError('ENOENT');
        return f.canonical;
      });
    } catch (e) {
      throw perror(e, `realpath: ${path}`);
    }
  },

  internal_write: ({ path, content }, call) => write(call, path, content, 'truncate'),

  internal_write_append: ({ path, content }, call) => write(call, path, content, 'append'),

  statvfs: async ({ path }, call): Promise<GuestfsIntStatvfs> => {
    try {
      return await call.sysroot.with(path, { follow: true }, async (f) => {
        if (f.stat === null) throw sysError('ENOENT');
        // statfs through a descriptor of the file: `stat -f` in a child process reaches it
        // by /proc/DAEMON/fd/N without walking the path again.
        const handle = await open(f.at, O_PATH | constants.O_NOFOLLOW);
        let out: string;
        try {
          out = (
            await command('stat', [
              '-f',
              '-c',
              '%s %S %b %f %a %c %d %i %l',
              `/proc/${process.pid}/fd/${handle.fd}`,
            ])
          ).toString();
        } finally {
          await handle.close();
        }
        const [bsize, frsize, blocks, bfree, bavail, files, ffree, fsid, namemax] = out
          .trim()
          .split(' ');
        return {
          bsize: BigInt(bsize!),
          frsize: BigInt(frsize!),
          blocks: BigInt(blocks!),
          bfree: BigInt(bfree!),
          bavail: BigInt(bavail!),
          files: BigInt(files!),
          ffree: BigInt(ffree!),
          favail: BigInt(ffree!), // Linux has no separate count for unprivileged users
          fsid: statvfsFsid(fsid!),
          flag: await mountFlags(call, f.canonical),
          namemax: BigInt(namemax!),
        };
      });
    } catch (e) {
      throw perror(e, `statvfs: ${path}`);
    }
  },
} satisfies Handlers;

async function write(
  call: Call,
  path: ByteString,
  content: Uint8Array,
  mode: 'truncate' | 'append',
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await call.sysroot.with(path, { follow: true }, (f) => openForWriting(f, path, mode));
  } catch (e) {
    throw perror(e, `open: ${path}`);
  }
  try {
    await handle.writeFile(content);
  } catch (e) {
    throw perror(e, 'write');
  } finally {
    await handle.close();
  }
}
