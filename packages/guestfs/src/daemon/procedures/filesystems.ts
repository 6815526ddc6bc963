/**
 * Disks and filesystems: listing them, probing them (blkid), mounting them under the sysroot,
 * trimming and syncing. Mount points are guest paths walked like any other and handed to
 * mount(8) and fstrim(8) as a descriptor (/proc/DAEMON/fd/N, with --no-canonicalize), so a
 * symlink in the guest cannot put a mount or a trim outside it.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { type ByteString, byteString } from '../bytes.js';
import type { Call } from '../call.js';
import {
  apiDeviceName,
  isPartitioned,
  listDevices,
  listPartitions,
  logicalVolumes,
  mdDevices,
} from '../devices.js';
import { DaemonError, failure, perror } from '../errors.js';
import { O_PATH } from '../guest-path.js';
import type { Handlers } from '../handler.js';
import { guestMountpoint, mountsUnder } from '../mounts.js';
import { argument, command, errorText, run } from '../run.js';

/** A guest directory held open, as a path a child process can use: /proc/DAEMON/fd/N. */
async function withDirectoryPath<T>(
  call: Call,
  path: ByteString,
  notDirectory: () => DaemonError,
  f: (procPath: string) => Promise<T>,
): Promise<T> {
  return call.sysroot.with(path, { follow: true }, async (located) => {
    if (located.stat === null || !located.stat.isDirectory()) throw notDirectory();
    const handle: FileHandle = await open(
      located.at,
      O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW,
    );
    try {
      return await f(`/proc/${process.pid}/fd/${handle.fd}`);
    } finally {
      await handle.close();
    }
  });
}

/** A program's error text, with the descriptor path it was given put back as the guest path. */
function inGuestTerms(text: ByteString, procPath: string, guestPath: ByteString): ByteString {
  return text.split(procPath).join(guestPath);
}

async function mountVfs(
  call: Call,
  options: ByteString,
  vfstype: ByteString,
  device: ByteString,
  mountpoint: ByteString,
): Promise<void> {
  const notDirectory = (): DaemonError =>
    failure(`mount: ${mountpoint}: mount point is not a directory`);
  try {
    await withDirectoryPath(call, mountpoint, notDirectory, async (target) => {
      const args = ['--no-canonicalize'];
      if (options !== '') args.push('-o', argument(options, 'mount options'));
      if (vfstype !== '') args.push('-t', argument(vfstype, 'filesystem type'));
      args.push(argument(device, 'device'), target);
      const r = await run('mount', args);
      if (r.status !== 0) {
        throw failure(
          `mount exited with status ${r.status}: ${inGuestTerms(byteString(r.stderr), target, mountpoint)}`,
        );
      }
    });
  } catch (e) {
    if (e instanceof DaemonError) throw e;
    throw notDirectory();
  }
}

/** Unmounts everything under the sysroot, deepest first (umount_all). */
async function umountAll(call: Call): Promise<void> {
  const dirs = (await mountsUnder(call.sysroot.path)).map((m) => m.dir);
  dirs.sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    const r = await run('umount', [argument(dir, 'mount point')]);
    if (r.status !== 0) throw failure(`umount: ${dir}: ${errorText(r)}`);
  }
}

/** sync(2), then fsync of every disk so that qemu's caches are written too (sync_disks). */
async function syncDisks(): Promise<void> {
  await command('sync', []);
  for (const device of await listDevices()) {
    try {
      const handle = await open(device, constants.O_RDONLY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // a disk that cannot be opened has nothing to flush
    }
  }
}

/** A tag from blkid (TYPE, UUID, LABEL); '' when the device has none. */
async function blkidTag(device: ByteString, tag: string): Promise<ByteString> {
  const r = await run('blkid', [
    '-c',
    '/dev/null',
    '-o',
    'value',
    '-s',
    tag,
    argument(device, 'device'),
  ]);
  if (r.status === 2) return '';
  if (r.status !== 0) throw failure(`blkid: ${device}: ${tag}: ${byteString(r.stderr)}`);
  return byteString(r.stdout).replace(/\n$/, '');
}

/** /dev/mapper/VG-LV or /dev/dm-N as /dev/VG/LV when it is a logical volume (lv_canonical). */
async function canonicalLv(device: ByteString): Promise<ByteString> {
  if (!device.startsWith('/dev/mapper/') && !device.startsWith('/dev/dm-')) return device;
  const rdev = (await stat(device)).rdev;
  for (const lv of await logicalVolumes()) if ((await stat(lv)).rdev === rdev) return lv;
  return device;
}

/** The API's name of a mounted device. */
async function mountedDeviceName(fsname: ByteString): Promise<ByteString> {
  return apiDeviceName(await canonicalLv(fsname));
}

/**
 * Partition types that hold no filesystem of their own: MBR extended partitions, Windows LDM
 * (MBR 0x42 and its GPT types), the Microsoft reserved and Windows snapshot partitions.
 */
const NO_FILESYSTEM_MBR = new Set(['0x5', '0xf', '0x85', '0x42']);
const NO_FILESYSTEM_GPT = new Set([
  '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3',
  'af9b60a0-1431-4f62-bc68-3311714a69ad',
  'e3c9e316-0b5c-4db8-817d-f92df00215ae',
  'caddebf1-4400-4de8-b103-12117dcf3ccf',
]);

async function canHoldFilesystem(partition: ByteString): Promise<boolean> {
  const r = await run('blkid', ['-p', '-o', 'export', partition]);
  const tags = new Map(
    byteString(r.stdout)
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string | undefined]),
  );
  const type = tags.get('PART_ENTRY_TYPE')?.toLowerCase() ?? '';
  return !NO_FILESYSTEM_MBR.has(type) && !NO_FILESYSTEM_GPT.has(type);
}

export const filesystemHandlers = {
  mount: ({ mountable, mountpoint }, call) => mountVfs(call, '', '', mountable, mountpoint),
  mount_ro: ({ mountable, mountpoint }, call) => mountVfs(call, 'ro', '', mountable, mountpoint),
  mount_options: ({ options, mountable, mountpoint }, call) =>
    mountVfs(call, options, '', mountable, mountpoint),
  mount_vfs: ({ options, vfstype, mountable, mountpoint }, call) =>
    mountVfs(call, options, vfstype, mountable, mountpoint),

  umount: async ({ pathordevice, force, lazyunmount }, call) => {
    const target = call.isDevice('pathordevice')
      ? pathordevice
      : await call.sysroot
          .with(pathordevice, { follow: true }, (f) => `${call.sysroot.path}${f.canonical}`)
          .catch((e: unknown) => {
            throw perror(e, pathordevice);
          });
    const args = [...(force ? ['-f'] : []), ...(lazyunmount ? ['-l'] : [])];
    const r = await run('umount', [...args, argument(target, 'mount point')]);
    if (r.status !== 0) throw failure(`${pathordevice}: ${errorText(r)}`);
  },

  umount_all: (_args, call) => umountAll(call),

  mounts: async (_args, call) => {
    const names: ByteString[] = [];
    for (const m of await mountsUnder(call.sysroot.path))
      names.push(await mountedDeviceName(m.fsname));
    return names;
  },

  mountpoints: async (_args, call) => {
    const pairs: ByteString[] = [];
    for (const m of await mountsUnder(call.sysroot.path)) {
      pairs.push(await mountedDeviceName(m.fsname), guestMountpoint(call.sysroot.path, m.dir));
    }
    return pairs;
  },

  list_devices: async () => Promise.all((await listDevices()).map(apiDeviceName)),

  list_partitions: async () => Promise.all((await listPartitions()).map(apiDeviceName)),

  list_filesystems: async () => {
    const candidates: ByteString[] = [];
    for (const d of await listDevices()) if (!(await isPartitioned(d))) candidates.push(d);
    for (const p of await listPartitions()) if (await canHoldFilesystem(p)) candidates.push(p);
    for (const md of await mdDevices()) if (!(await isPartitioned(md))) candidates.push(md);
    candidates.push(...(await logicalVolumes()));
    const pairs: ByteString[] = [];
    for (const device of candidates) {
      const type = await blkidTag(device, 'TYPE').catch(() => '');
      // Members of RAID and LVM sets, and encrypted containers, hold no filesystem themselves.
      if (type.endsWith('_member') || type === 'crypto_LUKS' || type === 'BitLocker') continue;
      pairs.push(await apiDeviceName(device), type === '' ? 'unknown' : type);
    }
    return pairs;
  },

  vfs_type: ({ mountable }) => blkidTag(mountable, 'TYPE'),
  vfs_uuid: ({ mountable }) => blkidTag(mountable, 'UUID'),
  vfs_label: ({ mountable }) => blkidTag(mountable, 'LABEL'),

  fstrim: async ({ mountpoint, offset, length, minimumfreeextent }, call) => {
    await syncDisks();
    const args: string[] = [];
    if (offset !== undefined) {
      if (offset < 0n) throw failure('offset < 0');
      args.push('-o', String(offset));
    }
    if (length !== undefined) {
      if (length <= 0n) throw failure('length <= 0');
      args.push('-l', String(length));
    }
    if (minimumfreeextent !== undefined) {
      if (minimumfreeextent <= 0n) throw failure('minimumfreeextent <= 0');
      args.push('-m', String(minimumfreeextent));
    }
    const notDirectory = (): DaemonError => failure(`fstrim: ${mountpoint}: not a directory`);
    await withDirectoryPath(call, mountpoint, notDirectory, async (target) => {
      const r = await run('fstrim', [...args, target]);
      if (r.status === 0) return;
      const message = inGuestTerms(errorText(r), target, mountpoint);
      throw message.includes('discard operation is not supported')
        ? new DaemonError('ENOTSUP', message)
        : failure(message);
    }).catch((e: unknown) => {
      throw perror(e, mountpoint);
    });
  },

  sync: () => syncDisks(),

  internal_autosync: async (_args, call) => {
    if (call.state.autosyncUmount) await umountAll(call);
    await syncDisks();
  },
} satisfies Handlers;
