// What an image is made of, and the key it is cached under. Two calls with the same recipe
// share one cached image; any change to the recipe (or to RECIPE_VERSION, bumped when the
// way images are made changes) gives a new key.
import { createHash } from 'node:crypto';
import { debian12TreeKey, type DiskLayout } from '@tsvirt/builder';

/** Bump when the build steps change without the options changing. */
export const RECIPE_VERSION = 1;

/** The builder's disk layouts: `mbr-ext4` (root on `/dev/sda1`) or `gpt-lvm` (BIOS boot
 *  partition, `/boot` on `/dev/sda2`, root on the LVM volume `/dev/debian-vg/root`). */
export type DebianLayout = DiskLayout;

export interface DebianImageOptions {
  /** Default `mbr-ext4`. */
  layout?: DebianLayout;
  /** Virtual size of the disk in GiB; default 2. */
  sizeGiB?: number;
  /**
   * How `/etc/fstab` and the kernel command line in `grub.cfg` name the filesystems:
   * `uuid` (Debian's default) or `device` (`/dev/sda1`, `/dev/sda2`, ...: what a guest made
   * on another hypervisor often has, and what virt-v2v remaps). Default `uuid`.
   */
  deviceNames?: 'uuid' | 'device';
  /**
   * Which kernel modules the initramfs carries: `most` (Debian's default `MODULES=most`,
   * which includes virtio) or an explicit list (`MODULES=list`, e.g. only `ata_piix sd_mod
   * ext4` for a guest whose initramfs lacks virtio). Default `most`.
   */
  initramfsModules?: 'most' | readonly string[];
  /** More Debian packages to install with debootstrap (they change the base's key). */
  extraPackages?: readonly string[];
}

export type DebianRecipe = Required<DebianImageOptions>;

export function normalizeRecipe(options: DebianImageOptions = {}): DebianRecipe {
  const recipe: DebianRecipe = {
    layout: options.layout ?? 'mbr-ext4',
    sizeGiB: options.sizeGiB ?? 2,
    deviceNames: options.deviceNames ?? 'uuid',
    initramfsModules: options.initramfsModules ?? 'most',
    extraPackages: [...(options.extraPackages ?? [])].sort(),
  };
  if (!Number.isInteger(recipe.sizeGiB) || recipe.sizeGiB < 2 || recipe.sizeGiB > 64)
    throw new RangeError(`sizeGiB must be an integer from 2 to 64, not ${recipe.sizeGiB}`);
  for (const name of [
    ...recipe.extraPackages,
    ...(recipe.initramfsModules === 'most' ? [] : recipe.initramfsModules),
  ]) {
    if (!/^[a-z0-9][a-z0-9+._-]*$/.test(name))
      throw new RangeError(`not a Debian package or module name: ${JSON.stringify(name)}`);
  }
  return recipe;
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Key of the finished disk: the builder's Debian 12 tree it starts from, and the recipe. */
export function imageKey(recipe: DebianRecipe): string {
  return hash({ RECIPE_VERSION, base: debian12TreeKey(recipe.extraPackages), recipe });
}
