// What an image is made of, and the key it is cached under. Two calls with the same recipe
// share one cached image; any change to the recipe (or to RECIPE_VERSION, bumped when the
// way images are made changes) gives a new key.
import { createHash } from 'node:crypto';

/** Bump when the build steps change without the options changing. */
export const RECIPE_VERSION = 1;

/** The Debian release and what debootstrap puts in every image. */
export const SUITE = 'bookworm';
export const BASE_PACKAGES = [
  'linux-image-amd64',
  'systemd-sysv',
  'initramfs-tools',
  'grub-pc',
  'lvm2',
  'e2fsprogs',
  'udev',
  'kmod',
  'ifupdown',
  'isc-dhcp-client',
] as const;

/**
 * - `mbr-ext4`: an MBR disk with one ext4 partition holding the whole root (`/dev/sda1`).
 * - `gpt-lvm`: a GPT disk with a BIOS boot partition, `/boot` on ext4 (`/dev/sda2`) and the
 *   root on an LVM logical volume (`/dev/debian-vg/root`, the PV is `/dev/sda3`).
 */
export type DebianLayout = 'mbr-ext4' | 'gpt-lvm';

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

/** Key of the debootstrap tree: only what debootstrap is asked for. */
export function baseKey(recipe: DebianRecipe): string {
  return hash({ RECIPE_VERSION, SUITE, BASE_PACKAGES, extra: recipe.extraPackages });
}

/** Key of the finished disk. */
export function imageKey(recipe: DebianRecipe): string {
  return hash({ RECIPE_VERSION, base: baseKey(recipe), recipe });
}

/** A UUID derived from the image key, so that a rebuilt image is the same image. */
export function stableUuid(key: string, what: string): string {
  const h = createHash('sha256').update(`${key}:${what}`).digest('hex');
  const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
