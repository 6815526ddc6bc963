// The root filesystem tree of one test image: the builder's Debian 12 tree (debootstrap,
// cached and shared with the builder's own images) given the files that depend on the
// recipe (fstab, how grub names the root, which modules the initramfs carries), with the
// initramfs rebuilt by the guest's own update-initramfs in a chroot on the host (seconds
// here, where the same step inside a TCG appliance takes a quarter of an hour).
import { debian12Tree, DEBIAN_12_GRUB_DEFAULTS, finishTree, type TreeFiles } from '@tsvirt/builder';
import { join } from 'node:path';
import { CACHE_DIR } from './cache.js';
import type { DebianRecipe } from './recipe.js';

export interface ImageTree {
  /** The tree as a tar file in the work directory. */
  tar: string;
  kernelVersion: string;
}

/** The tree of an image of this recipe, with this fstab, as a tar file in `work`. */
export async function imageTree(
  recipe: DebianRecipe,
  fstab: string,
  work: string,
): Promise<ImageTree> {
  const base = await debian12Tree(CACHE_DIR, recipe.extraPackages);
  const files: TreeFiles = {
    'etc/fstab': fstab,
    ...(recipe.deviceNames === 'device'
      ? {
          'etc/default/grub': `${DEBIAN_12_GRUB_DEFAULTS}GRUB_DISABLE_LINUX_UUID=true\n`,
        }
      : {}),
    ...(recipe.initramfsModules === 'most'
      ? {}
      : { 'etc/initramfs-tools/modules': recipe.initramfsModules.join('\n') + '\n' }),
  };
  const script = [
    ...(recipe.initramfsModules === 'most'
      ? []
      : ["sed -i 's/^MODULES=.*/MODULES=list/' /etc/initramfs-tools/initramfs.conf"]),
    'update-initramfs -u -k all',
  ].join('\n');
  const tar = join(work, 'root.tar');
  const { kernelVersion } = await finishTree({ base, files, script }, work, tar);
  return { tar, kernelVersion };
}
