// cache: keeps blocks in memory in front of a slow plugin (nbdkit-cache-filter, which
// uses a temporary file). Writes are cached (writeback: reach the plugin at flush;
// writethrough: at once; unsafe: flush is ignored, so unflushed writes are lost at exit).
// With cache-on-read=true, blocks read from the plugin are kept as well.
import { defineFilter, type Next } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { parseBool } from '../size.js';
import { PAGE_SIZE, SparseArray } from '../sparse.js';
import { Mutex, ownKeys } from './common.js';

type Mode = 'writeback' | 'writethrough' | 'unsafe';

export function createCacheFilter() {
  let mode: Mode = 'writeback';
  let cacheOnRead = false;
  const cache = new SparseArray();
  const dirty = new Set<number>();
  const lock = new Mutex();

  async function load(next: Next, block: number): Promise<void> {
    const start = block * PAGE_SIZE;
    if (cache.has(start)) return;
    const size = await next.getSize();
    const buf = Buffer.alloc(PAGE_SIZE);
    await next.pread(buf.subarray(0, Math.min(PAGE_SIZE, size - start)), start);
    if (!cache.has(start)) cache.write(buf, start);
  }

  async function read(next: Next, buf: Buffer, offset: number, keep: boolean): Promise<void> {
    for (let done = 0; done < buf.length;) {
      const at = offset + done;
      const block = Math.floor(at / PAGE_SIZE);
      const n = Math.min((block + 1) * PAGE_SIZE - at, buf.length - done);
      const part = buf.subarray(done, done + n);
      if (!cache.has(at) && keep) await lock.run(() => load(next, block));
      if (cache.has(at)) cache.read(part, at);
      else await next.pread(part, at);
      done += n;
    }
  }

  async function writeBack(next: Next): Promise<void> {
    const size = await next.getSize();
    for (const block of [...dirty].sort((a, b) => a - b)) {
      const start = block * PAGE_SIZE;
      const buf = Buffer.allocUnsafe(Math.min(PAGE_SIZE, size - start));
      cache.read(buf, start);
      await next.pwrite(buf, start, { fua: false });
      dirty.delete(block);
    }
  }

  async function write(next: Next, buf: Buffer, offset: number, fua: boolean): Promise<void> {
    await lock.run(async () => {
      const first = Math.floor(offset / PAGE_SIZE);
      const last = Math.floor((offset + buf.length - 1) / PAGE_SIZE);
      for (let b = first; b <= last; b++) {
        const whole = b * PAGE_SIZE >= offset && (b + 1) * PAGE_SIZE <= offset + buf.length;
        if (!whole) await load(next, b);
      }
      cache.write(buf, offset);
      if (mode === 'writethrough' || fua) await next.pwrite(buf, offset, { fua });
      else for (let b = first; b <= last; b++) dirty.add(b);
    });
  }

  return defineFilter<null>({
    name: 'cache',
    description: 'Cache blocks in memory in front of the plugin.',
    keys: [
      { key: 'cache=MODE', help: 'writeback (default), writethrough or unsafe.' },
      { key: 'cache-on-read=BOOL', help: 'Also cache blocks that are read.' },
    ],
    config: ownKeys({
      cache: (v) => {
        if (v !== 'writeback' && v !== 'writethrough' && v !== 'unsafe') {
          throw new ConfigError(`cache=${v}: expected writeback, writethrough or unsafe`);
        }
        mode = v;
      },
      'cache-on-read': (v) => (cacheOnRead = parseBool(v, 'cache-on-read')),
    }),
    canFlush: () => true,
    canFua: () => 'native',
    canCache: () => 'native',
    pread: (next, _h, buf, offset) => read(next, buf, offset, cacheOnRead),
    pwrite: (next, _h, buf, offset, flags) => write(next, buf, offset, flags.fua),
    async zero(next, _h, count, offset, flags) {
      if (flags.fastZero) throw new NbdError('ENOTSUP', 'cache: zeroes are written, not fast');
      const zeroes = Buffer.alloc(Math.min(count, 1 << 20));
      for (let done = 0; done < count; done += zeroes.length) {
        const n = Math.min(zeroes.length, count - done);
        await write(next, zeroes.subarray(0, n), offset + done, flags.fua);
      }
    },
    async trim(next, _h, count, offset, flags) {
      // Trimmed data may read back as anything: write through and drop clean copies.
      await lock.run(async () => {
        await writeBack(next);
        cache.zero(count, offset);
        await next.trim(count, offset, flags);
      });
    },
    async flush(next) {
      if (mode === 'unsafe') return;
      await lock.run(() => writeBack(next));
      await next.flush();
    },
    async cache(next, _h, count, offset) {
      await read(next, Buffer.allocUnsafe(count), offset, true);
    },
    async extents(next, _h, count, offset, flags) {
      if (dirty.size > 0) await lock.run(() => writeBack(next));
      return next.extents(count, offset, flags);
    },
  });
}
