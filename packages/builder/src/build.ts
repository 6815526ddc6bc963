// A guest's disk: the cached base image copied (and checked against its checksum on the
// way), grown to the size asked for, then customised in one appliance launch: the root
// partition and filesystem grown, the operations applied in order, and the guest given its
// own identity. What virt-builder does with a downloaded template, virt-resize and
// virt-customize, on this project's own stack.
import { launch } from '@tsvirt/guestfs';
import { rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { copyBaseImage, IMAGES, type ImageDefinition } from './debian.js';
import { growablePartition, layoutDevices } from './disk.js';
import {
  applyOperation,
  checkAgainstGuest,
  describeOperation,
  giveOwnIdentity,
  growRoot,
} from './customize.js';
import { BuilderError } from './errors.js';
import { run } from './exec.js';
import { requireMirror } from './mirror.js';
import { checkOperation, type Operation } from './operations.js';
import { DEFAULT_MIRROR } from './tree.js';

/** `$TSBUILDER_CACHE`, else `$XDG_CACHE_HOME/tsbuilder`, else `~/.cache/tsbuilder` (where
 *  virt-builder keeps its templates, under its own name). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['TSBUILDER_CACHE']) return env['TSBUILDER_CACHE'];
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'tsbuilder');
}

export interface BuildRequest {
  /** An image the builder knows: `debian-12`. */
  image: string;
  /** The disk to write (replaced if it exists). */
  output: string;
  /** Default qcow2. */
  format?: 'qcow2' | 'raw' | undefined;
  /** Virtual size; default the image's own (2 GiB for debian-12). */
  sizeBytes?: bigint | undefined;
  /** Applied in this order. */
  operations: readonly Operation[];
  /** Default `defaultCacheDir()`. */
  cacheDir?: string | undefined;
}

export interface BuildEvents {
  /** A step begins. */
  onStep?: (text: string) => void;
  /** What a command run in the guest printed (--run-command, --install). */
  onOutput?: (text: string) => void;
}

export interface BuildResult {
  output: string;
  format: 'qcow2' | 'raw';
  sizeBytes: bigint;
  /** Seconds spent: copying the base (building it first when it was not cached), launching
   *  the appliance, customising (grow, operations, identity) and closing (writing back). */
  seconds: { copy: number; launch: number; customize: number; close: number; total: number };
}

export function imageDefinition(name: string): ImageDefinition {
  const image = IMAGES.get(name);
  if (image === undefined)
    throw new BuilderError(
      'BAD_REQUEST',
      `no image ${JSON.stringify(name)}; the builder makes: ${[...IMAGES.keys()].join(', ')}`,
    );
  return image;
}

/**
 * Everything about a request that can be checked without building it: the image, the size,
 * each operation's values and, for `--install`, that the package mirror answers. Quick
 * (milliseconds; a second or so with --install).
 */
export async function checkBuild(request: BuildRequest): Promise<ImageDefinition> {
  const image = imageDefinition(request.image);
  const size = request.sizeBytes;
  if (size !== undefined) {
    if (size < image.sizeBytes)
      throw new BuilderError(
        'BAD_REQUEST',
        `size ${size} bytes is smaller than the ${image.name} image (${image.sizeBytes} bytes, ${image.sizeBytes >> 30n}G); give at least ${image.sizeBytes >> 30n}G`,
      );
    if (size % 512n !== 0n)
      throw new BuilderError(
        'BAD_REQUEST',
        `size ${size} bytes is not a whole number of 512-byte sectors; give e.g. ${((size + 511n) / 512n) * 512n}`,
      );
    if (size > image.sizeBytes && growablePartition(image.layout) === null)
      throw new BuilderError(
        'BAD_REQUEST',
        `the ${image.name} image cannot be grown (its root is on LVM)`,
      );
  }
  for (const op of request.operations) checkOperation(op);
  const packages = request.operations.flatMap((op) => (op.kind === 'install' ? op.packages : []));
  if (packages.length > 0) await requireMirror(DEFAULT_MIRROR, image.suite, packages);
  return image;
}

/** Builds the guest disk `request.output`. On failure or abort, the output is removed. */
export async function buildImage(
  request: BuildRequest,
  events: BuildEvents = {},
  signal?: AbortSignal,
): Promise<BuildResult> {
  const image = await checkBuild(request);
  const step = (text: string): void => {
    signal?.throwIfAborted();
    events.onStep?.(text);
  };
  const format = request.format ?? 'qcow2';
  const sizeBytes = request.sizeBytes ?? image.sizeBytes;
  const cacheDir = request.cacheDir ?? defaultCacheDir();
  const started = performance.now();
  const seconds = { copy: 0, launch: 0, customize: 0, close: 0, total: 0 };
  const lap = (key: keyof typeof seconds, since: number): number => {
    const now = performance.now();
    seconds[key] = (now - since) / 1000;
    return now;
  };
  const copy = format === 'qcow2' ? request.output : `${request.output}.base.qcow2`;
  try {
    step(`copying the ${image.name} base image`);
    await copyBaseImage(image, cacheDir, copy, (text) => events.onStep?.(text), signal);
    if (format === 'raw') {
      await run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', copy, request.output], {
        signal,
      });
      rmSync(copy);
    }
    if (sizeBytes > image.sizeBytes)
      await run(['qemu-img', 'resize', '-q', '-f', format, request.output, String(sizeBytes)], {
        signal,
      });
    let mark = lap('copy', started);

    const network = request.operations.some((op) => op.kind === 'install');
    step(`starting the appliance${network ? ' (with a network, for --install)' : ''}`);
    const handle = await launch({ drives: [{ source: request.output, format }], network });
    try {
      mark = lap('launch', mark);
      const g = handle.with({ signal });
      const grow = growablePartition(image.layout);
      if (grow !== null) {
        step(`growing the root filesystem to the disk`);
        await growRoot(g, grow.disk, grow.partnum);
      }
      await g.mount(layoutDevices(image.layout).root, '/');
      await checkAgainstGuest(g, request.operations);
      for (const op of request.operations) {
        step(describeOperation(op));
        const output = await applyOperation(g, op);
        if (output !== '') events.onOutput?.(output);
      }
      step(
        'giving the guest its own identity (random seed; machine-id and ssh host keys at first boot)',
      );
      await giveOwnIdentity(g);
      await g.umountAll();
      mark = lap('customize', mark);
      step('writing back and stopping the appliance');
    } finally {
      await handle.close();
    }
    lap('close', mark);
    lap('total', started);
    return { output: request.output, format, sizeBytes, seconds };
  } catch (error) {
    rmSync(request.output, { force: true });
    rmSync(copy, { force: true });
    throw error;
  }
}
