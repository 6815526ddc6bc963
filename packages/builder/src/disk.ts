// A bootable disk from a root tree, made in the libguestfs appliance (@tsvirt/guestfs) rather
// than with loop devices on the host: no root-only host state to leak, and the partitions,
// LVM and the boot loader are made by the tools a real install uses (grub-install and
// update-grub run inside the guest's own tree).
import { applianceDevice, launch, type Guestfs } from '@tsvirt/guestfs';
import { rmSync } from 'node:fs';
import { run } from './exec.js';

/**
 * - `mbr-ext4`: an MBR disk with one ext4 partition holding the whole root (`/dev/sda1`).
 * - `gpt-lvm`: a GPT disk with a BIOS boot partition, `/boot` on ext4 (`/dev/sda2`) and the
 *   root on an LVM logical volume (`/dev/debian-vg/root`, the PV is `/dev/sda3`).
 */
export type DiskLayout = 'mbr-ext4' | 'gpt-lvm';

export interface DiskPlan {
  layout: DiskLayout;
  format: 'raw' | 'qcow2';
  /** Virtual size. */
  sizeBytes: bigint;
  /** The root filesystem's UUID (and /boot's, for `gpt-lvm`): the tree's fstab names them. */
  rootUuid: string;
  bootUuid?: string | undefined;
}

/** Where a layout puts the filesystems, as the guest sees them. */
export function layoutDevices(layout: DiskLayout): { root: string; boot: string | null } {
  switch (layout) {
    case 'mbr-ext4':
      return { root: '/dev/sda1', boot: null };
    case 'gpt-lvm':
      return { root: '/dev/debian-vg/root', boot: '/dev/sda2' };
  }
}

/** The partition holding the root filesystem, where it can be grown in place (an ext4
 *  partition, the last on the disk); null for a root on LVM. */
export function growablePartition(layout: DiskLayout): { disk: string; partnum: number } | null {
  switch (layout) {
    case 'mbr-ext4':
      return { disk: '/dev/sda', partnum: 1 };
    case 'gpt-lvm':
      return null;
  }
}

/** BIOS boot partition type: where grub-install puts its core image on a GPT disk. */
const BIOS_BOOT_GUID = '21686148-6449-6E6F-744E-656564454649';

async function partition(g: Guestfs, plan: DiskPlan): Promise<void> {
  switch (plan.layout) {
    case 'mbr-ext4':
      await g.partInit('/dev/sda', 'mbr');
      await g.partAdd('/dev/sda', 'p', 2048, -1);
      await g.partSetBootable('/dev/sda', 1, true);
      await g.mkfs('ext4', '/dev/sda1');
      await g.setE2uuid('/dev/sda1', plan.rootUuid);
      await g.mount('/dev/sda1', '/');
      return;
    case 'gpt-lvm':
      await g.partInit('/dev/sda', 'gpt');
      await g.partAdd('/dev/sda', 'p', 2048, 4095);
      await g.partSetGptType('/dev/sda', 1, BIOS_BOOT_GUID);
      await g.partAdd('/dev/sda', 'p', 4096, 618495); // 300 MiB /boot
      await g.partAdd('/dev/sda', 'p', 618496, -34);
      await g.pvcreate('/dev/sda3');
      await g.vgcreate('debian-vg', ['/dev/sda3']);
      await g.lvcreateFree('root', 'debian-vg', 100);
      await g.mkfs('ext4', '/dev/sda2');
      await g.setE2uuid('/dev/sda2', plan.bootUuid ?? 'random');
      await g.mkfs('ext4', '/dev/debian-vg/root');
      await g.setE2uuid('/dev/debian-vg/root', plan.rootUuid);
      await g.mount('/dev/debian-vg/root', '/');
      await g.mkdir('/boot');
      await g.mount('/dev/sda2', '/boot');
      return;
  }
}

/** Creates `output` (an empty disk of the plan's format and size), partitions it, unpacks
 *  the tree `tar` onto it and installs grub (BIOS). `output` is removed on failure. */
export async function assembleDisk(
  tar: string,
  output: string,
  plan: DiskPlan,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await run(['qemu-img', 'create', '-q', '-f', plan.format, output, String(plan.sizeBytes)], {
      signal,
    });
    const handle = await launch({ drives: [{ source: output, format: plan.format }] });
    try {
      const g = handle.with({ signal });
      await partition(g, plan);
      await g.tarIn(tar, '/', { xattrs: true });
      // Commands see the appliance kernel's device names, and the kernel may have probed
      // the appliance's own disk first (then the guest's disk is /dev/sdb there).
      const disk = (await g.command(['readlink', '-f', applianceDevice('/dev/sda')])).trim();
      await g.command(['grub-install', '--target=i386-pc', disk]);
      await g.command(['update-grub']);
      // With GRUB_DISABLE_LINUX_UUID, grub-mkconfig wrote that name into root=: the guest
      // boots with its disk as /dev/sda.
      if (disk !== '/dev/sda') {
        await g.command(['sed', '-i', `s|${disk}|/dev/sda|g`, '/boot/grub/grub.cfg']);
      }
      await g.umountAll();
    } finally {
      await handle.close();
    }
  } catch (error) {
    rmSync(output, { force: true });
    throw error;
  }
}
