// Assembling a bootable disk from a root tree, with libguestfs (guestfish) rather than
// loop devices on the host: no root-only host state to leak, and the partitioning, LVM and
// the boot loader are made by the same tools a real install uses (grub-install and
// update-grub run inside the guest's own tree).
import { execChecked } from '@tsvirt/testcluster';
import { stableUuid, type DebianLayout, type DebianRecipe } from './recipe.js';

/** Where each layout puts its filesystems, as the guest sees them. */
export interface LayoutFacts {
  rootDevice: string;
  bootDevice: string | null;
  rootUuid: string;
  bootUuid: string | null;
}

export function layoutFacts(recipe: DebianRecipe, key: string): LayoutFacts {
  const rootUuid = stableUuid(key, 'root');
  switch (recipe.layout) {
    case 'mbr-ext4':
      return { rootDevice: '/dev/sda1', bootDevice: null, rootUuid, bootUuid: null };
    case 'gpt-lvm':
      return {
        rootDevice: '/dev/debian-vg/root',
        bootDevice: '/dev/sda2',
        rootUuid,
        bootUuid: stableUuid(key, 'boot'),
      };
  }
}

export function fstabFor(recipe: DebianRecipe, facts: LayoutFacts): string {
  const name = (device: string, uuid: string): string =>
    recipe.deviceNames === 'uuid'
      ? `UUID=${uuid}`
      : device.replace(/^\/dev\/debian-vg\//, '/dev/mapper/debian--vg-');
  const lines = [
    '# <file system> <mount point> <type> <options> <dump> <pass>',
    `${name(facts.rootDevice, facts.rootUuid)} / ext4 errors=remount-ro 0 1`,
  ];
  if (facts.bootDevice !== null && facts.bootUuid !== null)
    lines.push(`${name(facts.bootDevice, facts.bootUuid)} /boot ext4 defaults 0 2`);
  return lines.join('\n') + '\n';
}

/** BIOS boot partition type: where grub-install puts its core image on a GPT disk. */
const BIOS_BOOT_GUID = '21686148-6449-6E6F-744E-656564454649';

function partitioning(layout: DebianLayout, facts: LayoutFacts): string[] {
  switch (layout) {
    case 'mbr-ext4':
      return [
        'part-init /dev/sda mbr',
        'part-add /dev/sda p 2048 -1',
        'part-set-bootable /dev/sda 1 true',
        'mkfs ext4 /dev/sda1',
        `set-e2uuid /dev/sda1 ${facts.rootUuid}`,
        'mount /dev/sda1 /',
      ];
    case 'gpt-lvm':
      return [
        'part-init /dev/sda gpt',
        'part-add /dev/sda p 2048 4095',
        `part-set-gpt-type /dev/sda 1 ${BIOS_BOOT_GUID}`,
        'part-add /dev/sda p 4096 618495', // 300 MiB /boot
        'part-add /dev/sda p 618496 -34',
        'pvcreate /dev/sda3',
        'vgcreate debian-vg /dev/sda3',
        'lvcreate-free root debian-vg 100',
        'mkfs ext4 /dev/sda2',
        `set-e2uuid /dev/sda2 ${facts.bootUuid ?? ''}`,
        'mkfs ext4 /dev/debian-vg/root',
        `set-e2uuid /dev/debian-vg/root ${facts.rootUuid}`,
        'mount /dev/debian-vg/root /',
        'mkdir /boot',
        'mount /dev/sda2 /boot',
      ];
  }
}

/** Creates `output` (raw) from the root tree `tar`. */
export async function assembleDisk(
  recipe: DebianRecipe,
  facts: LayoutFacts,
  tar: string,
  output: string,
): Promise<void> {
  await execChecked(['truncate', '-s', `${recipe.sizeGiB}G`, output]);
  const script = [
    `add ${output} format:raw`,
    'run',
    ...partitioning(recipe.layout, facts),
    `tar-in ${tar} / xattrs:true`,
    'command "grub-install --target=i386-pc /dev/sda"',
    'command update-grub',
    'umount-all',
  ].join('\n');
  await execChecked(['guestfish', '--'], {
    input: script + '\n',
    env: {
      ...process.env,
      LIBGUESTFS_BACKEND: 'direct',
      // KVM aborts or hangs on these machines; an explicit setting of the user wins.
      LIBGUESTFS_BACKEND_SETTINGS: process.env['LIBGUESTFS_BACKEND_SETTINGS'] ?? 'force_tcg',
    },
  });
}
