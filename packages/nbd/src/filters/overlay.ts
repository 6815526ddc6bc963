// Storage shared by the cow and cache filters: whole blocks kept in a sparse temporary file
// at their own offsets, and one state byte per block in memory (a 50 GiB disk in 64 KiB
// blocks is 800 KiB of index). The file is unlinked as soon as it is opened, so nothing is
// left behind when the process ends, however it ends.
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, messageOf } from '../errors.js';
import { FileHoles } from '@tsvirt/file-holes';
import { readFully, writeFully } from '../file-io.js';

/** nbdkit's default block size for cow and cache, so that extent maps match nbdkit's. */
export const OVERLAY_BLOCK_SIZE = 64 * 1024;

/** Where the file goes: $TMPDIR, else /var/tmp (disk-backed, like nbdkit's LARGE_TMPDIR). */
export function overlayDirectory(): string {
  return process.env.TMPDIR || '/var/tmp';
}

export class OverlayFile {
  private constructor(
    private readonly fh: FileHandle,
    private readonly holes: FileHoles,
  ) {}

  static async create(label: string): Promise<OverlayFile> {
    const dir = overlayDirectory();
    const path = join(dir, `tsnbd-${label}-${randomBytes(6).toString('hex')}`);
    const fh = await open(path, 'wx+', 0o600).catch((err: unknown) => {
      throw new ConfigError(
        `${label}: cannot create the overlay in ${dir} (set TMPDIR to another directory): ${messageOf(err)}`,
      );
    });
    try {
      await unlink(path);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new OverlayFile(fh, FileHoles.forFd(fh.fd));
  }

  read(buf: Buffer, offset: number): Promise<void> {
    return readFully(this.fh, buf, offset); // never-written blocks read as zeroes
  }

  write(buf: Buffer, offset: number): Promise<void> {
    return writeFully(this.fh, buf, offset);
  }

  /** Gives the disk space of a range back (best effort: the blocks' state says what is there). */
  async discard(offset: number, length: number): Promise<void> {
    await this.holes.punchHole(offset, length);
  }

  /** Bytes the file takes on disk. */
  async allocatedBytes(): Promise<number> {
    return (await this.fh.stat()).blocks * 512;
  }

  async close(): Promise<void> {
    this.holes.close();
    await this.fh.close();
  }
}

/** One state byte per block, all 0 at first; grows to cover the largest export seen. */
export class BlockStates {
  private states = new Uint8Array(0);

  constructor(readonly blockSize: number) {}

  /** Makes room for an export of `size` bytes. */
  cover(size: number): void {
    const blocks = Math.ceil(size / this.blockSize);
    if (blocks <= this.states.length) return;
    const grown = new Uint8Array(blocks);
    grown.set(this.states);
    this.states = grown;
  }

  get(block: number): number {
    return this.states[block] ?? 0;
  }

  set(first: number, end: number, state: number): void {
    this.states.fill(state, first, end);
  }

  /** The first block from `block` (before `limit`) whose state differs from `block`'s. */
  runEnd(block: number, limit: number): number {
    const state = this.get(block);
    let end = block + 1;
    while (end < limit && this.get(end) === state) end++;
    return end;
  }

  /** Blocks in [first, end) in `state`, as runs of [first, end). */
  *runsOf(state: number, first: number, end: number): Generator<[number, number]> {
    for (let b = first; b < end;) {
      const runEnd = this.runEnd(b, end);
      if (this.get(b) === state) yield [b, runEnd];
      b = runEnd;
    }
  }
}
