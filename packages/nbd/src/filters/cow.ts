// cow: a copy-on-write overlay in memory; the plugin is opened read-only and never
// changed (nbdkit-cow-filter, which keeps its overlay in a temporary file instead).
// With cow-on-read=true, data read from the plugin is kept in the overlay too.
import { ExtentType, defineFilter, type Extent, type Next } from '../api.js';
import { parseBool } from '../size.js';
import { PAGE_SIZE, SparseArray } from '../sparse.js';
import { Mutex, ownKeys } from './common.js';

export function createCowFilter() {
  let cowOnRead = false;
  const overlay = new SparseArray();
  const lock = new Mutex();

  /** Copies the plugin's block into the overlay if it is not there yet. */
  async function fetchBlock(next: Next, block: number, size: number): Promise<void> {
    if (overlay.has(block * PAGE_SIZE)) return;
    const start = block * PAGE_SIZE;
    const buf = Buffer.alloc(PAGE_SIZE);
    await next.pread(buf.subarray(0, Math.min(PAGE_SIZE, size - start)), start);
    if (!overlay.has(start)) overlay.write(buf, start);
  }

  /** Reads block by block from the overlay where present, else from the plugin. */
  async function read(next: Next, buf: Buffer, offset: number): Promise<void> {
    for (let done = 0; done < buf.length;) {
      const at = offset + done;
      const block = Math.floor(at / PAGE_SIZE);
      const n = Math.min((block + 1) * PAGE_SIZE - at, buf.length - done);
      const part = buf.subarray(done, done + n);
      if (!overlay.has(at) && cowOnRead) await lock.run(() => fetchBlock(next, block, Infinity));
      if (overlay.has(at)) overlay.read(part, at);
      else await next.pread(part, at);
      done += n;
    }
  }

  /** Writes into the overlay, first copying partly-written blocks from the plugin. */
  async function write(next: Next, data: Buffer | number, offset: number): Promise<void> {
    const size = await next.getSize();
    const count = typeof data === 'number' ? data : data.length;
    await lock.run(async () => {
      const first = Math.floor(offset / PAGE_SIZE);
      const last = Math.floor((offset + count - 1) / PAGE_SIZE);
      if (offset % PAGE_SIZE !== 0) await fetchBlock(next, first, size);
      if ((offset + count) % PAGE_SIZE !== 0) await fetchBlock(next, last, size);
      if (typeof data === 'number') {
        // Zeroes must shadow the plugin's data: keep zero-filled pages, not holes.
        const zeroes = Buffer.alloc(Math.min(count, 1 << 20));
        for (let done = 0; done < count; done += zeroes.length) {
          overlay.write(zeroes.subarray(0, Math.min(zeroes.length, count - done)), offset + done);
        }
      } else overlay.write(data, offset);
    });
  }

  return defineFilter<null>({
    name: 'cow',
    description: 'Copy-on-write overlay in memory; the plugin is never written.',
    keys: [{ key: 'cow-on-read=BOOL', help: 'Also keep data read from the plugin.' }],
    config: ownKeys({ 'cow-on-read': (v) => (cowOnRead = parseBool(v, 'cow-on-read')) }),
    async open(next, _readonly, exportName) {
      await next(true, exportName);
      return null;
    },
    canWrite: () => true,
    canTrim: () => true,
    canZero: () => true,
    canFlush: () => true,
    canFua: () => 'native',
    canFastZero: () => true,
    canMultiConn: () => true,
    canCache: () => 'native',
    pread: (next, _h, buf, offset) => read(next, buf, offset),
    pwrite: (next, _h, buf, offset) => write(next, buf, offset),
    zero: (next, _h, count, offset) => write(next, count, offset),
    trim: (next, _h, count, offset) => write(next, count, offset),
    flush: () => undefined,
    async cache(next, _h, count, offset) {
      if (!cowOnRead) return next.cache(count, offset);
      await read(next, Buffer.allocUnsafe(count), offset);
    },
    async extents(next, _h, count, offset, flags): Promise<Extent[]> {
      // Blocks in the overlay are data; the rest is whatever the plugin says.
      const out: Extent[] = [];
      const end = offset + count;
      for (let at = offset; at < end;) {
        const blockEnd = Math.min((Math.floor(at / PAGE_SIZE) + 1) * PAGE_SIZE, end);
        if (overlay.has(at)) {
          out.push({ offset: at, length: blockEnd - at, type: ExtentType.DATA });
          at = blockEnd;
          continue;
        }
        let runEnd = blockEnd;
        while (runEnd < end && !overlay.has(runEnd)) runEnd = Math.min(runEnd + PAGE_SIZE, end);
        const lower = await next.extents(runEnd - at, at, flags);
        for (const e of lower) {
          const s = Math.max(e.offset, at);
          const t = Math.min(e.offset + e.length, runEnd);
          if (t > s) out.push({ offset: s, length: t - s, type: e.type });
        }
        if (flags.reqOne && out.length > 0) break;
        at = runEnd;
      }
      return out;
    },
  });
}
