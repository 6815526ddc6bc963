/**
 * Block devices: which disks the appliance has, their names in the API, what counts as a
 * device argument. Ported from guestfsd (devsparts.ml, device-name-translation.c, utils.c):
 * disks are named /dev/sda, /dev/sdb... in the order of /dev/disk/by-path, whatever name the
 * kernel gave them; the appliance's own root disk is never one of them.
 */
import { constants, statSync } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { type ByteString, byteString } from './bytes.js';
import { isErrno } from './errors.js';
import { command } from './run.js';

const BY_PATH = '/dev/disk/by-path';
/** Disk name prefixes guestfsd lists (SCSI, IDE, UML, virtio-blk, CD-ROM). */
const DISK_PREFIXES = ['sd', 'hd', 'ubd', 'vd', 'sr'];

/** The device the appliance's root filesystem is on: never offered as a guest disk. */
const rootDevice = statSync('/').dev;

async function isRootDevice(device: string): Promise<boolean> {
  try {
    return (await stat(device)).rdev === rootDevice;
  } catch {
    return false;
  }
}

/** The kernel names of the disks in by-path order (`ls -1v`), partitions left out. */
async function disksByPath(): Promise<string[]> {
  let out: Buffer;
  try {
    out = await command('ls', ['-1v', BY_PATH]);
  } catch {
    return []; // no by-path links (a standalone daemon on a host without them)
  }
  const disks: string[] = [];
  for (const entry of out.toString().split('\n')) {
    if (entry === '' || entry.includes('-part')) continue;
    try {
      disks.push(await realpath(`${BY_PATH}/${entry}`));
    } catch {
      // a link whose device went away
    }
  }
  return disks;
}

/** The API's disk order: index i is /dev/sd(a+i). Computed once, like guestfsd's cache. */
let translation: Promise<string[]> | null = null;
function diskOrder(): Promise<string[]> {
  translation ??= (async () => {
    const disks: string[] = [];
    for (const d of await disksByPath()) if (!(await isRootDevice(d))) disks.push(d);
    return disks;
  })();
  return translation;
}

/** `a` → 0, `z` → 25, `aa` → 26 (guestfs_int_drive_index). */
function driveIndex(letters: string): number {
  let index = 0;
  for (const c of letters) index = index * 26 + (c.charCodeAt(0) - 96);
  return index - 1;
}

/** 0 → `a`, 26 → `aa` (guestfs_int_drive_name). */
function driveName(index: number): string {
  let name = '';
  for (let i = index + 1; i > 0; i = Math.floor((i - 1) / 26)) {
    name = String.fromCharCode(97 + ((i - 1) % 26)) + name;
  }
  return name;
}

async function openable(device: string): Promise<boolean> {
  try {
    await (await open(device, constants.O_RDONLY)).close();
    return true;
  } catch (e) {
    if (isErrno(e, 'ENXIO', 'ENOENT')) return false;
    throw e;
  }
}

/**
 * The appliance's name for an API device name: /dev/sdb1 is the second disk's first
 * partition, whatever the kernel called that disk. Null when there is no such device.
 */
export async function translateDevice(device: ByteString): Promise<string | null> {
  let translated = device;
  const m = /^\/dev\/([a-z]{1,2})d([a-z]+)(.*)$/.exec(device);
  if (m !== null && !device.slice(5).includes('/') && !device.startsWith('/dev/m')) {
    const disk = (await diskOrder())[driveIndex(m[2]!)];
    if (disk !== undefined) translated = disk + m[3]!;
  }
  if (await openable(translated)) return translated;
  if (!device.startsWith('/dev/sd')) return null;
  for (const prefix of ['/dev/vd', '/dev/hd', '/dev/ubd']) {
    const alternative = prefix + device.slice('/dev/sd'.length);
    if (await openable(alternative)) return alternative;
  }
  return null;
}

/** The API name of an appliance device (the reverse of translateDevice). */
export async function apiDeviceName(device: ByteString): Promise<ByteString> {
  const disks = await diskOrder();
  for (const [i, disk] of disks.entries()) {
    if (device === disk || (device.startsWith(disk) && /^[0-9]/.test(device.slice(disk.length)))) {
      return `/dev/sd${driveName(i)}${device.slice(disk.length)}`;
    }
  }
  return device;
}

/**
 * Whether an argument names a device rather than a guest path (is_device_parameter): any
 * /dev/sd* name, or a block device of the appliance that is not its root disk.
 */
export async function isDeviceParameter(name: ByteString): Promise<boolean> {
  if (!name.startsWith('/dev/')) return false;
  if (name.startsWith('/dev/sd')) return true;
  let s;
  try {
    s = await stat(name);
  } catch {
    return false;
  }
  if (s.isDirectory()) return name.length > 5;
  return s.isBlockDevice() && s.rdev !== rootDevice;
}

/** The guest disks, /dev/sda... in by-path order (list_devices). */
export async function listDevices(): Promise<string[]> {
  const devices: string[] = [];
  for (const disk of await disksByPath()) {
    const name = disk.startsWith('/dev/') ? disk.slice(5) : null;
    if (name === null || !DISK_PREFIXES.some((p) => name.startsWith(p))) continue;
    if ((await isRootDevice(disk)) || !(await openable(disk))) continue;
    devices.push(disk);
  }
  return devices;
}

/** Partitions of the guest disks, then of MD devices (list_partitions). */
export async function listPartitions(): Promise<string[]> {
  const partitions: string[] = [];
  for (const disk of await listDevices()) partitions.push(...(await partitionsOf(disk)));
  for (const md of await mdDevices()) partitions.push(...(await partitionsOf(md)));
  return partitions;
}

/** /dev/md0, /dev/md1... */
export async function mdDevices(): Promise<string[]> {
  const names = await readdir('/sys/block');
  return names.filter((n) => /^md[0-9]/.test(n)).map((n) => `/dev/${n}`);
}

/** The partitions of a disk, from /sys/block/DISK/DISKn, in device-name order. */
export async function partitionsOf(device: string): Promise<string[]> {
  const name = device.slice('/dev/'.length);
  const entries = await readdir(`/sys/block/${name}`);
  return sortDeviceNames(entries.filter((e) => e.startsWith(name)).map((e) => `/dev/${e}`));
}

/** Whether a whole device has partitions (it then holds no filesystem itself). */
export async function isPartitioned(device: string): Promise<boolean> {
  return (await partitionsOf(await realpath(device))).length > 0;
}

/** /dev/sda10 → ['sda', 10]; /dev/md0p1 → ['md0', 1]; a whole device has 0. */
export function splitDevicePartition(device: ByteString): [ByteString, number] {
  const name = device.startsWith('/dev/') ? device.slice(5) : device;
  const m = /^(.*?)([0-9]*)$/.exec(name)!;
  let disk = m[1]!;
  const partition = m[2] === '' ? 0 : Number(m[2]);
  if (/[0-9]p$/.test(disk)) disk = disk.slice(0, -1);
  return [disk, partition];
}

/** /dev/sdz before /dev/sdaa; /dev/sda2 before /dev/sda10 (sort_device_names). */
export function sortDeviceNames(devices: ByteString[]): ByteString[] {
  const skipPrefix = (disk: string): string =>
    disk[1] === 'd' ? disk.slice(2) : disk[2] === 'd' ? disk.slice(3) : disk;
  return [...devices].sort((a, b) => {
    const [diskA, partA] = splitDevicePartition(a);
    const [diskB, partB] = splitDevicePartition(b);
    const da = skipPrefix(diskA);
    const db = skipPrefix(diskB);
    if (da.length !== db.length) return da.length - db.length;
    if (da !== db) return da < db ? -1 : 1;
    return partA - partB;
  });
}

/** Logical volumes, /dev/VG/LV, sorted (lvs). */
export async function logicalVolumes(): Promise<string[]> {
  const out = byteString(
    await command('lvm', [
      'lvs',
      '-o',
      'vg_name,lv_name',
      '-S',
      'lv_role=public && lv_skip_activation!=yes',
      '--noheadings',
      '--separator',
      '/',
    ]),
  );
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'unknown device')
    .map((l) => `/dev/${l}`)
    .sort();
}
