// blocksize: lets clients send any request to a plugin with alignment and size limits
// (nbdkit-blocksize-filter). Unaligned edges go through read-modify-write; large requests
// are split.
import { defineFilter, type Next, type WriteFlags } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';
import { Mutex } from '../mutex.js';
import { ownKeys } from './common.js';

export function createBlocksizeFilter() {
  let minblock = 1;
  let maxdata = 64 << 20;
  let maxlen = 2 ** 32 - 1;
  const rmw = new Mutex();

  /** Splits [offset, offset+count) into an unaligned head, aligned middle and unaligned tail. */
  const split = (offset: number, count: number) => {
    const end = offset + count;
    const alignedStart = Math.ceil(offset / minblock) * minblock;
    const alignedEnd = Math.floor(end / minblock) * minblock;
    if (alignedStart >= alignedEnd)
      return { head: [offset, end], middle: undefined, tail: undefined };
    return {
      head: offset < alignedStart ? [offset, alignedStart] : undefined,
      middle: [alignedStart, alignedEnd],
      tail: alignedEnd < end ? [alignedEnd, end] : undefined,
    };
  };

  /** Reads the block around [start, end) and calls `edit` on it, writing it back if asked. */
  async function blockEdit(
    next: Next,
    start: number,
    end: number,
    edit: (block: Buffer, at: number) => void,
    flags?: WriteFlags,
  ) {
    const blockStart = Math.floor(start / minblock) * minblock;
    await rmw.run(async () => {
      const block = Buffer.allocUnsafe(minblock);
      await next.pread(block, blockStart);
      edit(block, start - blockStart);
      if (flags) await next.pwrite(block, blockStart, flags);
    });
  }

  async function chunked(
    count: number,
    offset: number,
    step: number,
    work: (n: number, at: number) => Promise<void>,
  ) {
    for (let done = 0; done < count;) {
      const n = Math.min(step, count - done);
      await work(n, offset + done);
      done += n;
    }
  }

  return defineFilter<null>({
    name: 'blocksize',
    // Read-modify-write of unaligned edges is locked in this process only.
    threadModel: 'parallel',
    description: 'Adapt any request to a plugin with block size limits.',
    keys: [
      { key: 'minblock=SIZE', help: "The plugin's alignment (power of two, default 1)." },
      { key: 'maxdata=SIZE', help: 'Largest read/write sent to the plugin (default 64M).' },
      { key: 'maxlen=SIZE', help: 'Largest trim/zero sent to the plugin.' },
    ],
    config: ownKeys({
      minblock: (v) => (minblock = parseSize(v, 'minblock')),
      maxdata: (v) => (maxdata = parseSize(v, 'maxdata')),
      maxlen: (v) => (maxlen = parseSize(v, 'maxlen')),
    }),
    configComplete() {
      if (minblock & (minblock - 1) || minblock > 65536) {
        throw new ConfigError('blocksize: minblock must be a power of two up to 64K');
      }
      maxdata = Math.max(minblock, Math.floor(maxdata / minblock) * minblock);
      maxlen = Math.max(minblock, Math.floor(maxlen / minblock) * minblock);
    },
    blockSize: () => ({ minimum: 1, preferred: Math.max(4096, minblock), maximum: 32 << 20 }),
    async pread(next, _h, buf, offset) {
      const { head, middle, tail } = split(offset, buf.length);
      for (const part of [head, tail]) {
        if (part)
          await blockEdit(next, part[0]!, part[1]!, (b, at) =>
            b.copy(buf, part[0]! - offset, at, at + part[1]! - part[0]!),
          );
      }
      if (middle) {
        await chunked(middle[1]! - middle[0]!, middle[0]!, maxdata, (n, at) =>
          next.pread(buf.subarray(at - offset, at - offset + n), at),
        );
      }
    },
    async pwrite(next, _h, buf, offset, flags) {
      const { head, middle, tail } = split(offset, buf.length);
      for (const part of [head, tail]) {
        if (part)
          await blockEdit(
            next,
            part[0]!,
            part[1]!,
            (b, at) => buf.copy(b, at, part[0]! - offset, part[1]! - offset),
            flags,
          );
      }
      if (middle) {
        await chunked(middle[1]! - middle[0]!, middle[0]!, maxdata, (n, at) =>
          next.pwrite(buf.subarray(at - offset, at - offset + n), at, flags),
        );
      }
    },
    async zero(next, _h, count, offset, flags) {
      const { head, middle, tail } = split(offset, count);
      for (const part of [head, tail]) {
        if (part)
          await blockEdit(
            next,
            part[0]!,
            part[1]!,
            (b, at) => b.fill(0, at, at + part[1]! - part[0]!),
            flags,
          );
      }
      if (middle)
        await chunked(middle[1]! - middle[0]!, middle[0]!, maxlen, (n, at) =>
          next.zero(n, at, flags),
        );
    },
    async trim(next, _h, count, offset, flags) {
      // Trim is advisory: unaligned edges are simply left alone.
      const { middle } = split(offset, count);
      if (middle)
        await chunked(middle[1]! - middle[0]!, middle[0]!, maxlen, (n, at) =>
          next.trim(n, at, flags),
        );
    },
    async cache(next, _h, count, offset) {
      const start = Math.floor(offset / minblock) * minblock;
      const end = Math.min(Math.ceil((offset + count) / minblock) * minblock, await next.getSize());
      await chunked(end - start, start, maxlen, (n, at) => next.cache(n, at));
    },
    async extents(next, _h, count, offset, flags) {
      const start = Math.floor(offset / minblock) * minblock;
      const end = Math.min(Math.ceil((offset + count) / minblock) * minblock, await next.getSize());
      return next.extents(Math.min(end - start, maxlen), start, flags);
    },
  });
}
