/**
 * Inspection of the source in the appliance, and every check that can refuse the conversion,
 * all before anything is changed or copied (the seed's "fail early"): an operating system
 * must be found (and only one, or `--root` says which), it must be an installed one of a
 * kind we convert, its filesystems must check clean (read-only fsck), mount read-write, and
 * have the free space and inodes the conversion needs. Each refusal says what was found.
 */
import { randomBytes } from 'node:crypto';
import {
  type Guestfs,
  GuestfsError,
  type InspectedOs,
  applianceDevice,
  inspect,
} from '@tsvirt/guestfs';
import { V2vError, messageOf } from './errors.js';
import type { Firmware } from './source.js';

/** `--root`: `single` (refuse several), `first`, or a root device such as /dev/sda2. */
export type RootChoice = 'single' | 'first' | `/dev/${string}`;

export interface FilesystemCheck {
  readonly device: string;
  readonly type: string | null;
  /** 'clean', or why it was not checked. */
  readonly result: string;
}

export interface SpaceCheck {
  readonly mountpoint: string;
  readonly device: string;
  readonly freeBytes: number;
  readonly neededBytes: number;
  readonly freeInodes: number | null;
}

export interface InspectedGuest {
  readonly os: InspectedOs;
  readonly firmware: Firmware;
  readonly firmwareReason: string;
  readonly filesystemChecks: readonly FilesystemCheck[];
  readonly space: readonly SpaceCheck[];
}

const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const MiB = 1024 * 1024;
const NEEDED_INODES = 100;

async function describeFilesystems(g: Guestfs): Promise<string> {
  const fses = Object.entries(await g.listFilesystems());
  if (fses.length === 0)
    return 'no filesystems at all (a blank disk, or an encrypted or unknown format)';
  return `filesystems found: ${fses.map(([dev, type]) => `${dev} (${type})`).join(', ')}`;
}

async function chooseRoot(g: Guestfs, roots: string[], choice: RootChoice): Promise<string> {
  if (roots.length === 0)
    throw new V2vError(
      'NO_OS',
      `inspection found no operating system on the source: ${await describeFilesystems(g)}`,
    );
  if (choice !== 'single' && choice !== 'first') {
    if (!roots.includes(choice))
      throw new V2vError(
        'USAGE',
        `--root ${choice}: not a root of this guest; roots found: ${roots.join(', ')}`,
      );
    return choice;
  }
  if (roots.length === 1 || choice === 'first') return roots[0]!;
  const named = await Promise.all(
    roots.map(async (r) => `${r} (${await g.inspectGetProductName(r)})`),
  );
  throw new V2vError(
    'MULTIPLE_ROOTS',
    `several operating systems found: ${named.join(', ')}; choose one with --root DEVICE (or --root first)`,
  );
}

/** A read-only check of one filesystem (it must not be mounted). */
async function checkFilesystem(g: Guestfs, device: string): Promise<FilesystemCheck> {
  let type: string | null = null;
  try {
    type = await g.vfsType(device);
  } catch (e) {
    if (!(e instanceof GuestfsError)) throw e;
  }
  if (type !== null && /^ext[234]$/.test(type)) {
    try {
      // -n: answer no to every question (nothing is written); -f: check even if marked
      // clean. Through `debug sh`, which takes no device argument for the daemon to
      // translate: the kernel's name is found from the drive's id (see applianceDevice).
      await g.debug('sh', [
        `udevadm settle; exec e2fsck -f -n '${applianceDevice(device).replace(/'/g, '')}'`,
      ]);
      return { device, type, result: 'clean' };
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
      throw new V2vError(
        'FS_CORRUPT',
        `the ${type} filesystem on ${device} has errors (e2fsck -fn: ${lastLines(e.message)}); repair it in the source guest (e2fsck -f ${device}) before converting`,
      );
    }
  }
  if (type === 'xfs') {
    const status = await g.xfsRepair(device, { nomodify: true });
    if (status !== 0)
      throw new V2vError(
        'FS_CORRUPT',
        `the xfs filesystem on ${device} has errors (xfs_repair -n exit status ${status}); repair it in the source guest (xfs_repair ${device}) before converting`,
      );
    return { device, type, result: 'clean' };
  }
  return { device, type, result: `not checked (no read-only check for ${type ?? 'this type'})` };
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ');
}

async function detectFirmware(g: Guestfs): Promise<{ firmware: Firmware; reason: string }> {
  for (const device of await g.listDevices()) {
    let table: string;
    try {
      table = await g.partGetParttype(device);
    } catch (e) {
      if (e instanceof GuestfsError) continue;
      throw e;
    }
    if (table !== 'gpt') continue;
    for (const part of await g.partList(device)) {
      const type = await g.partGetGptType(device, part.part_num);
      if (type.toUpperCase() === ESP_GUID)
        return {
          firmware: 'uefi',
          reason: `${device} partition ${part.part_num} is an EFI system partition`,
        };
    }
  }
  return { firmware: 'bios', reason: 'no EFI system partition' };
}

/** Mounts the guest's filesystems read-write, shortest mount point first. */
export async function mountGuest(g: Guestfs, os: InspectedOs): Promise<void> {
  for (const { mountpoint, device } of os.mountpoints) {
    try {
      await g.mount(device, mountpoint);
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
      if (mountpoint === '/')
        throw new V2vError(
          'CONVERSION',
          `cannot mount the root filesystem ${device}: ${e.message}`,
        );
      // As virt-v2v: a secondary filesystem that does not mount is skipped.
    }
  }
}

/** Free space the conversion needs on a mount point, as virt-v2v reckons it. */
function neededBytes(mountpoint: string, hasBoot: boolean): number {
  if (mountpoint === '/boot' || (mountpoint === '/' && !hasBoot)) return 50 * MiB; // a new initramfs
  if (mountpoint === '/') return 100 * MiB;
  return 10 * MiB;
}

async function checkSpace(g: Guestfs): Promise<SpaceCheck[]> {
  const mounted = Object.entries(await g.mountpoints()).map(([device, mountpoint]) => ({
    device,
    mountpoint,
  }));
  const hasBoot = mounted.some((m) => m.mountpoint === '/boot');
  const checks: SpaceCheck[] = [];
  for (const { device, mountpoint } of mounted) {
    const s = await g.statvfs(mountpoint);
    const check = {
      mountpoint,
      device,
      freeBytes: Number(s.bfree * s.bsize),
      neededBytes: neededBytes(mountpoint, hasBoot),
      freeInodes: s.files > 0n ? Number(s.ffree) : null,
    };
    if (check.freeBytes < check.neededBytes)
      throw new V2vError(
        'NO_SPACE',
        `not enough free space for the conversion on ${mountpoint} (${device}): ${(check.freeBytes / MiB).toFixed(1)} MiB free, ${check.neededBytes / MiB} MiB needed; free some space in the guest first`,
      );
    if (check.freeInodes !== null && check.freeInodes < NEEDED_INODES)
      throw new V2vError(
        'NO_SPACE',
        `not enough free inodes for the conversion on ${mountpoint} (${device}): ${check.freeInodes} free, ${NEEDED_INODES} needed`,
      );
    checks.push(check);
  }
  return checks;
}

/**
 * Inspects the guest, runs the checks, and leaves its filesystems mounted read-write for the
 * conversion. Throws V2vError for every refusal.
 */
export async function inspectSource(
  g: Guestfs,
  options: { root: RootChoice; firmware: Firmware | null },
): Promise<InspectedGuest> {
  const root = await chooseRoot(g, await g.inspectOs(), options.root);
  const format = await g.inspectGetFormat(root);
  if (format !== 'installed')
    throw new V2vError(
      'NOT_INSTALLED',
      `${root} is not an installed operating system (inspection says "${format}": an installer or live image?)`,
    );
  const os = (await inspect(g, { icon: false })).find((o) => o.root === root);
  if (os === undefined) throw new V2vError('NO_OS', `inspection lost the root ${root}`);
  const filesystemChecks: FilesystemCheck[] = [];
  for (const { device } of os.mountpoints) filesystemChecks.push(await checkFilesystem(g, device));
  await mountGuest(g, os);
  // Some filesystems fall back to read-only silently: prove the root takes writes.
  const probe = `/.tsv2v-${randomBytes(4).toString('hex')}`;
  try {
    await g.touch(probe);
    await g.rm(probe);
  } catch (e) {
    throw new V2vError(
      'CONVERSION',
      `the root filesystem ${root} cannot be written (${messageOf(e)}): was the guest shut down cleanly?`,
    );
  }
  const space = await checkSpace(g);
  const detected = options.firmware === null ? await detectFirmware(g) : null;
  return {
    os,
    firmware: options.firmware ?? detected!.firmware,
    firmwareReason: detected?.reason ?? 'stated by the source metadata',
    filesystemChecks,
    space,
  };
}
