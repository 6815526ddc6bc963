// Real Debian 12 guest disks for the tests: debootstrap'd from Debian's archive, made
// bootable with grub (BIOS, serial console), in a few layouts, and cached by recipe so that
// only the first test run on a machine pays the minutes it takes.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleDisk } from '@tsvirt/builder';
import { cached } from './cache.js';
import { diskPlan, fstabFor, layoutFacts, type LayoutFacts } from './disk.js';
import { imageKey, normalizeRecipe, type DebianImageOptions, type DebianRecipe } from './recipe.js';
import { imageTree } from './rootfs.js';

export type { DebianImageOptions, DebianLayout } from './recipe.js';
export { CACHE_DIR, cached } from './cache.js';
export { bootImage, type BootOptions, type BootResult } from './boot.js';

export interface DebianImage extends LayoutFacts {
  /** The cached disk. Shared and read-only by convention: copy it before writing. */
  path: string;
  format: 'raw';
  sizeBytes: number;
  /** The cache key (a hash of the recipe). */
  key: string;
  recipe: DebianRecipe;
  kernelVersion: string;
}

const DISK = 'disk.img';
const INFO = 'image.json';

/**
 * Returns a Debian 12 disk image made to `options`, building it on first use (about 3
 * minutes for debootstrap, shared by every layout, plus one to two minutes per image for
 * the TCG appliance that assembles it). Needs root, debootstrap and guestfish.
 */
export async function debianImage(options: DebianImageOptions = {}): Promise<DebianImage> {
  const recipe = normalizeRecipe(options);
  const key = imageKey(recipe);
  const facts = layoutFacts(recipe, key);
  const dir = await cached(`debian-12-${recipe.layout}-${key}`, async (temp) => {
    mkdirSync(temp);
    const work = join(temp, 'work');
    mkdirSync(work);
    const tree = await imageTree(recipe, fstabFor(recipe, facts), work);
    await assembleDisk(tree.tar, join(temp, DISK), diskPlan(recipe, facts));
    rmSync(work, { recursive: true, force: true });
    writeFileSync(join(temp, INFO), JSON.stringify({ kernelVersion: tree.kernelVersion }));
  });
  const info = JSON.parse(readFileSync(join(dir, INFO), 'utf8')) as { kernelVersion: string };
  const path = join(dir, DISK);
  return {
    path,
    format: 'raw',
    sizeBytes: statSync(path).size,
    key,
    recipe,
    kernelVersion: info.kernelVersion,
    ...facts,
  };
}
