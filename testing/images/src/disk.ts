// Where each layout puts a test image's filesystems, and the fstab naming them. The disk
// itself is assembled by the builder (@tsvirt/builder's assembleDisk, in the appliance).
import { layoutDevices, stableUuid, type DiskPlan } from '@tsvirt/builder';
import type { DebianRecipe } from './recipe.js';

/** Where each layout puts its filesystems, as the guest sees them. */
export interface LayoutFacts {
  rootDevice: string;
  bootDevice: string | null;
  rootUuid: string;
  bootUuid: string | null;
}

export function layoutFacts(recipe: DebianRecipe, key: string): LayoutFacts {
  const { root, boot } = layoutDevices(recipe.layout);
  return {
    rootDevice: root,
    bootDevice: boot,
    rootUuid: stableUuid(key, 'root'),
    bootUuid: boot === null ? null : stableUuid(key, 'boot'),
  };
}

/** What the builder is asked to assemble for this recipe (a raw disk). */
export function diskPlan(recipe: DebianRecipe, facts: LayoutFacts): DiskPlan {
  return {
    layout: recipe.layout,
    format: 'raw',
    sizeBytes: BigInt(recipe.sizeGiB) << 30n,
    rootUuid: facts.rootUuid,
    bootUuid: facts.bootUuid ?? undefined,
  };
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
