/** The disks given to the appliance, and how each becomes qemu's `-drive` and `-device`. */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { GuestfsLaunchError } from '../errors.js';

export interface Drive {
  /** A file or block device path, or an NBD URI (`nbd+unix:///export?socket=PATH`, `nbd://host:port/export`). */
  readonly source: string;
  /** Image format. Default: raw for NBD; for files qemu is told `raw` unless given. */
  readonly format?: 'raw' | 'qcow2' | undefined;
  /**
   * The appliance may read but its writes go to a temporary overlay that is thrown away (as
   * libguestfs's readonly drives): the image is never written, and journals can still be
   * replayed in the overlay when mounting.
   */
  readonly readonly?: boolean | undefined;
  /** Let the guest's TRIM/discard reach the image (qemu `discard=unmap`). Default off. */
  readonly discard?: boolean | undefined;
  /** qemu cache mode: writeback (default, honours flushes) or unsafe (ignores them: faster, for scratch images). */
  readonly cacheMode?: 'writeback' | 'unsafe' | 'none' | undefined;
}

/** An NBD URI as qemu's `file=` spelling, or null when `source` is not an NBD URI. */
export function nbdFile(source: string): string | null {
  if (!/^nbd(\+unix|\+tcp)?:\/\//.test(source)) return null;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new GuestfsLaunchError('DRIVE', `${source}: not a valid NBD URI`);
  }
  const exportName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const suffix = exportName === '' ? '' : `:exportname=${exportName}`;
  if (url.protocol === 'nbd+unix:') {
    const socket = url.searchParams.get('socket');
    if (socket === null || socket === '') {
      throw new GuestfsLaunchError('DRIVE', `${source}: an nbd+unix URI needs ?socket=PATH`);
    }
    return `nbd:unix:${socket}${suffix}`;
  }
  if (url.hostname === '')
    throw new GuestfsLaunchError('DRIVE', `${source}: no host in the NBD URI`);
  return `nbd:${url.hostname}:${url.port || '10809'}${suffix}`;
}

/** The qemu arguments of guest drive `index` (sda, sdb... in the appliance). */
export function driveArgs(drive: Drive, index: number): string[] {
  const nbd = nbdFile(drive.source);
  if (nbd === null && !existsSync(drive.source)) {
    throw new GuestfsLaunchError('DRIVE', `${drive.source}: no such file`);
  }
  if (nbd === null && drive.format === undefined && isQcow2(drive.source)) {
    // Guessing formats lets a guest that wrote a qcow2 header into its raw disk point qemu
    // at host files; say what to do instead.
    throw new GuestfsLaunchError(
      'DRIVE',
      `${drive.source} is a qcow2 image: give its format (format: 'qcow2', or --format qcow2)`,
    );
  }
  const file = (nbd ?? drive.source).replace(/,/g, ',,'); // qemu's option syntax escapes commas
  const options = [
    `file=${file}`,
    `cache=${drive.cacheMode ?? 'writeback'}`,
    `format=${drive.format ?? 'raw'}`,
    `id=hd${index}`,
    'if=none',
  ];
  if (drive.readonly) options.push('snapshot=on');
  if (drive.discard) options.push('discard=unmap');
  return ['-drive', options.join(','), '-device', `scsi-hd,drive=hd${index}`];
}

function isQcow2(path: string): boolean {
  const magic = Buffer.alloc(4);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GuestfsLaunchError('DRIVE', `${path}: ${(e as Error).message}`);
  }
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return magic.toString('latin1') === 'QFI\xfb';
}

/**
 * The appliance kernel's own path of a device the daemon names /dev/sdX[N], for commands
 * run in the appliance (`command`, `sh`), which the daemon does not translate. The daemon
 * renames devices so that the guest's disks are sda, sdb... in the order given, but the
 * kernel may have probed the appliance's own disk first; the drive ids given above (hd0,
 * hd1...) are stable, and udev names them in /dev/disk/by-id. Other names are kept.
 */
export function applianceDevice(device: string): string {
  const m = /^\/dev\/sd([a-z]+)(\d*)$/.exec(device);
  if (m === null) return device;
  let index = 0;
  for (const c of m[1]!) index = index * 26 + (c.charCodeAt(0) - 96);
  return `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd${index - 1}${m[2] ? `-part${m[2]}` : ''}`;
}
