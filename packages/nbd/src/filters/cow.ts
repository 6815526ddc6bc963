// cow: a copy-on-write overlay (nbdkit-cow-filter); the plugin is opened read-only and never
// changed. Each block of the disk is in one of three states:
// - LOWER: not in the overlay; reads go to the plugin, block status is the plugin's;
// - DATA: in the overlay file (a sparse, unlinked temporary file: see overlay.ts);
// - ZERO: trimmed or zeroed; takes no space, reads as zeroes, block status HOLE|ZERO.
// As in nbdkit, whole blocks that are trimmed become ZERO, and the parts of blocks at the
// edges of a write, trim or zero are read, changed and written back as DATA. Unlike nbdkit
// 1.32, whole blocks zeroed without NO_HOLE become ZERO too (nbdkit writes zero blocks), and
// the overlay's disk space is given back when DATA blocks become ZERO.
// With cow-on-read, blocks read from the plugin are kept in the overlay too.
import { existsSync } from 'node:fs';
import { ExtentType, defineFilter, type Extent, type ExtentsFlags, type Next } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { normalizeExtents } from '../extents.js';
import { parseBool, parseSize } from '../size.js';
import { Mutex } from '../mutex.js';
import { ownKeys } from './common.js';
import { BlockStates, OVERLAY_BLOCK_SIZE, OverlayFile } from './overlay.js';

const LOWER = 0;
const DATA = 1;
const ZERO = 2;

const ZERO_CHUNK = 1 << 20;

export function createCowFilter() {
  let blockSize = OVERLAY_BLOCK_SIZE;
  let cowOnRead: () => boolean = () => false;
  let cowOnCache = false;
  let states: BlockStates | undefined;
  let overlay: Promise<OverlayFile> | undefined;
  // Read-modify-write cycles and every change of a block's state run one at a time.
  const lock = new Mutex();

  const index = () => (states ??= new BlockStates(blockSize));
  const file = () => (overlay ??= OverlayFile.create('cow'));

  /** The whole blocks from `first` that `buf` holds, as they read now (zeroes past the end). */
  async function readBlocks(next: Next, first: number, buf: Buffer): Promise<void> {
    const inside = Math.min(buf.length, (await next.getSize()) - first * blockSize);
    await read(next, buf.subarray(0, inside), first * blockSize, false);
    buf.fill(0, inside);
  }

  /** Writes whole blocks [first, end) from `buf` into the overlay. Hold the lock. */
  async function storeBlocks(first: number, end: number, buf: Buffer): Promise<void> {
    await (await file()).write(buf, first * blockSize);
    index().set(first, end, DATA);
  }

  /** Makes whole blocks [first, end) read as zeroes without storing anything. Hold the lock. */
  async function zeroBlocks(first: number, end: number): Promise<void> {
    const stored = [...index().runsOf(DATA, first, end)];
    index().set(first, end, ZERO);
    const f = await file();
    for (const [s, e] of stored) await f.discard(s * blockSize, (e - s) * blockSize);
  }

  /** Changes part of one block: reads it whole, lets `edit` change it, stores it. */
  async function modifyBlock(next: Next, block: number, edit: (data: Buffer) => void) {
    const data = Buffer.alloc(blockSize);
    await readBlocks(next, block, data);
    edit(data);
    await storeBlocks(block, block + 1, data);
  }

  /**
   * Runs a write-like change of [offset, offset+count): partial blocks at either edge go
   * through `edge` (a read-modify-write of that block), whole blocks through `whole`.
   */
  async function change(
    next: Next,
    count: number,
    offset: number,
    edge: (block: number, from: number, to: number) => Promise<void>,
    whole: (first: number, end: number) => Promise<void>,
  ): Promise<void> {
    const size = await next.getSize();
    index().cover(size);
    const end = offset + count;
    // A block ending at the end of the disk is whole once covered up to there.
    const blockEnd = (b: number) => Math.min((b + 1) * blockSize, size);
    await lock.run(async () => {
      let first = Math.floor(offset / blockSize);
      let last = Math.ceil(end / blockSize); // exclusive
      if (offset > first * blockSize || end < blockEnd(first)) {
        await edge(
          first,
          offset - first * blockSize,
          Math.min(end, blockEnd(first)) - first * blockSize,
        );
        first++;
      }
      if (last > first && end < blockEnd(last - 1)) {
        last--;
        await edge(last, 0, end - last * blockSize);
      }
      if (last > first) await whole(first, last);
    });
  }

  async function write(next: Next, buf: Buffer, offset: number): Promise<void> {
    const edge = (block: number, from: number, to: number) =>
      modifyBlock(next, block, (data) => {
        const at = block * blockSize + from - offset;
        buf.copy(data, from, at, at + to - from);
      });
    const whole = async (first: number, end: number) => {
      const from = first * blockSize - offset;
      await storeBlocks(first, end, buf.subarray(from, from + (end - first) * blockSize));
    };
    await change(next, buf.length, offset, edge, whole);
  }

  /** Zeroes the range: edges are rewritten, whole blocks become ZERO or zero-filled DATA. */
  async function zero(next: Next, count: number, offset: number, keepAllocated: boolean) {
    // As nbdkit, even inside a ZERO block (which keeps the maps alike).
    const edge = (block: number, from: number, to: number) =>
      modifyBlock(next, block, (data) => data.fill(0, from, to));
    const whole = async (first: number, end: number) => {
      if (!keepAllocated) return zeroBlocks(first, end);
      // NO_HOLE: the client wants the range allocated, so store zeroes (as nbdkit does).
      const perChunk = Math.min(end - first, Math.max(1, Math.floor(ZERO_CHUNK / blockSize)));
      const zeroes = Buffer.alloc(perChunk * blockSize);
      for (let b = first; b < end; b += perChunk) {
        const n = Math.min(perChunk, end - b);
        await storeBlocks(b, b + n, zeroes.subarray(0, n * blockSize));
      }
    };
    await change(next, count, offset, edge, whole);
  }

  /** Reads, block by block state; with cow-on-read, plugin blocks are kept in the overlay. */
  async function read(next: Next, buf: Buffer, offset: number, keep: boolean): Promise<void> {
    const size = await next.getSize();
    index().cover(size);
    const end = offset + buf.length;
    for (let at = offset; at < end;) {
      const block = Math.floor(at / blockSize);
      const runEnd = index().runEnd(block, Math.ceil(end / blockSize));
      const stop = Math.min(runEnd * blockSize, end);
      const part = buf.subarray(at - offset, stop - offset);
      const state = index().get(block);
      if (state === LOWER && keep) await keepBlocks(next, block, runEnd, part, at);
      else if (state === LOWER) await next.pread(part, at);
      else if (state === DATA) await (await file()).read(part, at);
      else part.fill(0);
      at = stop;
    }
  }

  /** cow-on-read: reads whole blocks [first, end) from the plugin into the overlay. */
  async function keepBlocks(next: Next, first: number, end: number, part: Buffer, at: number) {
    const whole = Buffer.alloc((end - first) * blockSize);
    await lock.run(async () => {
      await readBlocks(next, first, whole);
      // Blocks written meanwhile are newer than what was just read: keep those.
      for (const [s, e] of index().runsOf(LOWER, first, end)) {
        const from = (s - first) * blockSize;
        await storeBlocks(s, e, whole.subarray(from, from + (e - s) * blockSize));
      }
    });
    const from = at - first * blockSize;
    whole.copy(part, 0, from, from + part.length);
  }

  /** Like nbdkit's cow filter: overlay blocks by their state, the rest as the plugin says. */
  async function extents(
    next: Next,
    count: number,
    offset: number,
    flags: ExtentsFlags,
  ): Promise<Extent[]> {
    const size = await next.getSize();
    index().cover(size);
    const out: Extent[] = [];
    const endBlock = Math.ceil(Math.min(offset + count, size) / blockSize);
    for (let b = Math.floor(offset / blockSize); b < endBlock;) {
      const runEnd = index().runEnd(b, endBlock);
      const at = b * blockSize;
      const state = index().get(b);
      if (state !== LOWER) {
        const type = state === ZERO ? ExtentType.HOLE_ZERO : ExtentType.DATA;
        out.push({ offset: at, length: (runEnd - b) * blockSize, type });
      } else {
        const stop = Math.min(runEnd * blockSize, size);
        out.push(...(await lowerExtents(next, stop - at, at, flags)));
      }
      b = runEnd;
      if (flags.reqOne) break;
    }
    // Neighbours of one type merged; the first starting at `offset`, not at its block.
    return normalizeExtents(out, offset, count, flags.reqOne);
  }

  return defineFilter<null>({
    name: 'cow',
    // The overlay's block states and its lock are in this process's memory.
    threadModel: 'parallel',
    description: 'Copy-on-write overlay in a temporary file; the plugin is never written.',
    keys: [
      { key: 'cow-on-read=BOOL|/PATH', help: 'Also keep blocks read (while PATH exists).' },
      { key: 'cow-on-cache=BOOL', help: 'Keep blocks named by cache requests.' },
      { key: 'cow-block-size=SIZE', help: 'Overlay block size (power of 2, default 64K).' },
    ],
    config: ownKeys({
      'cow-on-read': (v) => {
        if (v.startsWith('/')) cowOnRead = () => existsSync(v);
        else {
          const on = parseBool(v, 'cow-on-read');
          cowOnRead = () => on;
        }
      },
      'cow-on-cache': (v) => (cowOnCache = parseBool(v, 'cow-on-cache')),
      'cow-block-size': (v) => {
        const n = parseSize(v);
        if (n < 4096 || n > 2 ** 31 || (n & (n - 1)) !== 0) {
          throw new ConfigError(`cow-block-size=${v}: expected a power of 2 from 4K to 2G`);
        }
        blockSize = n;
      },
    }),
    async getReady() {
      await file(); // a TMPDIR that cannot take the overlay fails at startup
    },
    async cleanup() {
      await (await overlay)?.close();
    },
    async open(next, _readonly, exportName) {
      await next(true, exportName);
      return null;
    },
    async prepare(next) {
      index().cover(await next.getSize());
    },
    canWrite: () => true,
    canTrim: () => true,
    canZero: () => true,
    canFlush: () => true,
    canFua: () => 'native',
    canFastZero: () => true, // and refused: zeroing may have to read and write edge blocks
    canExtents: () => true,
    canMultiConn: () => true,
    canCache: () => 'native',
    pread: (next, _h, buf, offset) => read(next, buf, offset, cowOnRead()),
    pwrite: (next, _h, buf, offset) => write(next, buf, offset),
    async zero(next, _h, count, offset, flags) {
      if (flags.fastZero) throw new NbdError('ENOTSUP', 'cow: zeroing is not fast');
      await zero(next, count, offset, !flags.mayTrim);
    },
    trim: (next, _h, count, offset) => zero(next, count, offset, false),
    flush: () => undefined, // the overlay is gone at exit: nothing to make durable
    async cache(next, _h, count, offset) {
      if (!cowOnCache) return next.cache(count, offset);
      const scratch = Buffer.allocUnsafe(Math.min(count, ZERO_CHUNK));
      for (let done = 0; done < count; done += scratch.length) {
        const n = Math.min(scratch.length, count - done);
        await read(next, scratch.subarray(0, n), offset + done, true);
      }
    },
    extents: (next, _h, count, offset, flags) => extents(next, count, offset, flags),
  });
}

/** The plugin's extents for the whole range (asking again where it stopped short). */
async function lowerExtents(
  next: Next,
  count: number,
  offset: number,
  flags: ExtentsFlags,
): Promise<Extent[]> {
  const out: Extent[] = [];
  const end = offset + count;
  for (let at = offset; at < end;) {
    const got = normalizeExtents(await next.extents(end - at, at, flags), at, end - at, false);
    out.push(...got);
    at = got[got.length - 1]!.offset + got[got.length - 1]!.length;
    if (flags.reqOne) break;
  }
  return out;
}
