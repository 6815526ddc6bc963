// cache: keeps blocks in front of a slow plugin (nbdkit-cache-filter), in a sparse temporary
// file (see overlay.ts). Writes are cached (writeback: reach the plugin at flush;
// writethrough: at once; unsafe: flush is ignored, so unflushed writes are lost at exit).
// With cache-on-read=true, blocks read from the plugin are kept as well.
import { defineFilter, type Next } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { parseBool } from '../size.js';
import { Mutex } from '../mutex.js';
import { ownKeys } from './common.js';
import { BlockStates, OVERLAY_BLOCK_SIZE, OverlayFile } from './overlay.js';

type Mode = 'writeback' | 'writethrough' | 'unsafe';

const BLOCK = OVERLAY_BLOCK_SIZE;
const ABSENT = 0;
const CLEAN = 1;
const DIRTY = 2;

export function createCacheFilter() {
  let mode: Mode = 'writeback';
  let cacheOnRead = false;
  const states = new BlockStates(BLOCK);
  let dirtyBlocks = 0;
  let cacheFile: Promise<OverlayFile> | undefined;
  const lock = new Mutex();

  const file = () => (cacheFile ??= OverlayFile.create('cache'));

  function mark(first: number, end: number, state: number): void {
    for (let b = first; b < end; b++) {
      dirtyBlocks += Number(state === DIRTY) - Number(states.get(b) === DIRTY);
    }
    states.set(first, end, state);
  }

  /** Brings a block into the cache from the plugin if it is not there. Hold the lock. */
  async function load(next: Next, block: number): Promise<void> {
    if (states.get(block) !== ABSENT) return;
    const start = block * BLOCK;
    const size = await next.getSize();
    const buf = Buffer.alloc(BLOCK);
    await next.pread(buf.subarray(0, Math.min(BLOCK, size - start)), start);
    await (await file()).write(buf, start);
    mark(block, block + 1, CLEAN);
  }

  async function read(next: Next, buf: Buffer, offset: number, keep: boolean): Promise<void> {
    for (let done = 0; done < buf.length;) {
      const at = offset + done;
      const block = Math.floor(at / BLOCK);
      const n = Math.min((block + 1) * BLOCK - at, buf.length - done);
      const part = buf.subarray(done, done + n);
      if (states.get(block) === ABSENT && keep) await lock.run(() => load(next, block));
      if (states.get(block) !== ABSENT) await (await file()).read(part, at);
      else await next.pread(part, at);
      done += n;
    }
  }

  /** Writes dirty blocks to the plugin. Hold the lock. */
  async function writeBack(next: Next): Promise<void> {
    if (dirtyBlocks === 0) return;
    const size = await next.getSize();
    const f = await file();
    for (const [first, end] of states.runsOf(DIRTY, 0, Math.ceil(size / BLOCK))) {
      for (let b = first; b < end; b++) {
        const start = b * BLOCK;
        const buf = Buffer.allocUnsafe(Math.min(BLOCK, size - start));
        await f.read(buf, start);
        await next.pwrite(buf, start, { fua: false });
        mark(b, b + 1, CLEAN);
      }
    }
  }

  async function write(next: Next, buf: Buffer, offset: number, fua: boolean): Promise<void> {
    await lock.run(async () => {
      const first = Math.floor(offset / BLOCK);
      const last = Math.floor((offset + buf.length - 1) / BLOCK);
      for (let b = first; b <= last; b++) {
        const whole = b * BLOCK >= offset && (b + 1) * BLOCK <= offset + buf.length;
        if (!whole) await load(next, b);
      }
      await (await file()).write(buf, offset);
      if (mode === 'writethrough' || fua) {
        await next.pwrite(buf, offset, { fua });
        for (let b = first; b <= last; b++) if (states.get(b) !== DIRTY) mark(b, b + 1, CLEAN);
      } else mark(first, last + 1, DIRTY);
    });
  }

  return defineFilter<null>({
    name: 'cache',
    // The cache's block states and its lock are in this process's memory.
    threadModel: 'parallel',
    description: 'Cache blocks in a temporary file in front of the plugin.',
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
    async getReady() {
      await file(); // a TMPDIR that cannot take the cache fails at startup
    },
    async cleanup() {
      await (await cacheFile)?.close();
    },
    async prepare(next) {
      states.cover(await next.getSize());
    },
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
      // Trimmed data may read back as anything: write back, then drop the cached copies.
      await lock.run(async () => {
        await writeBack(next);
        const first = Math.floor(offset / BLOCK);
        const end = Math.ceil((offset + count) / BLOCK);
        const f = await file();
        for (const [s, e] of states.runsOf(CLEAN, first, end)) {
          mark(s, e, ABSENT);
          await f.discard(s * BLOCK, (e - s) * BLOCK);
        }
        await next.trim(count, offset, flags);
      });
    },
    async flush(next) {
      if (mode === 'unsafe') return;
      await lock.run(() => writeBack(next));
      await next.flush();
    },
    async cache(next, _h, count, offset) {
      const scratch = Buffer.allocUnsafe(Math.min(count, 1 << 20));
      for (let done = 0; done < count; done += scratch.length) {
        const n = Math.min(scratch.length, count - done);
        await read(next, scratch.subarray(0, n), offset + done, true);
      }
    },
    async extents(next, _h, count, offset, flags) {
      if (dirtyBlocks > 0) await lock.run(() => writeBack(next));
      return next.extents(count, offset, flags);
    },
  });
}
