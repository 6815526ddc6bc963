// sparse-random: runs of random data between runs of zeroes, shaped like a VM disk
// (nbdkit-sparse-random-plugin). Deterministic for a given seed, but not byte-identical to
// nbdkit's generator. Writes must match the content, else EIO, so one instance can be both
// source and destination of a copy test.
import { randomInt } from 'node:crypto';
import { ExtentType, definePlugin, type Extent } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { sharedValue } from '../shared.js';
import { parseBool, parseInteger, parseSize } from '../size.js';

const BLOCK = 4096;

/** xorshift-style 32-bit mixer: same input, same output. */
function mix(seed: number, n: number): number {
  let x = (seed ^ Math.imul(n, 0x9e3779b1)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export function createSparseRandomPlugin() {
  let size: number | undefined;
  let seed = 0;
  let seedGiven = false;
  let percent = 10;
  let runLength = 16 << 20;
  let randomContent = false;
  /** Sorted [start, end) byte ranges holding data. */
  let runs: [number, number][] = [];

  function buildRuns(): void {
    runs = [];
    if (percent === 0) return;
    const blocks = Math.ceil(size! / BLOCK);
    const dataMean = Math.max(1, runLength / BLOCK);
    const holeMean = percent === 100 ? 0 : (dataMean * (100 - percent)) / percent;
    let at = 0;
    let n = 0;
    const draw = (mean: number) => {
      const u = (mix(seed, n++) + 1) / 2 ** 32;
      return Math.max(1, Math.round(-Math.log(u) * mean));
    };
    while (at < blocks) {
      if (holeMean > 0) at += draw(holeMean);
      if (at >= blocks) break;
      const len = percent === 100 ? blocks : draw(dataMean);
      runs.push([at * BLOCK, Math.min((at + len) * BLOCK, size!)]);
      at += len;
    }
  }

  function runIndexAfter(offset: number): number {
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]![1] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function fillBlock(
    buf: Buffer,
    from: number,
    to: number,
    block: number,
    blockOffset: number,
  ): void {
    if (!randomContent) {
      buf.fill((mix(seed ^ 0x5bd1e995, block) % 255) + 1, from, to);
      return;
    }
    for (let i = from; i < to; i++) {
      buf[i] = mix(seed + block, blockOffset + (i - from)) & 0xff;
    }
  }

  function read(buf: Buffer, offset: number): void {
    buf.fill(0);
    const end = offset + buf.length;
    for (let r = runIndexAfter(offset); r < runs.length && runs[r]![0] < end; r++) {
      const [start, stop] = runs[r]!;
      for (let at = Math.max(start, offset); at < Math.min(stop, end);) {
        const block = Math.floor(at / BLOCK);
        const next = Math.min((block + 1) * BLOCK, stop, end);
        fillBlock(buf, at - offset, next - offset, block, at - block * BLOCK);
        at = next;
      }
    }
  }

  return definePlugin<null>({
    name: 'sparse-random',
    threadModel: 'multiProcess',
    description: 'Sparse runs of random data, like a VM disk; writes must match the content.',
    keys: [
      { key: 'size=SIZE', help: 'Size of the disk (required).' },
      { key: 'seed=N', help: 'Seed, for the same disk on every run.' },
      { key: 'percent=N', help: 'Percentage of the disk holding data (default 10).' },
      { key: 'runlength=SIZE', help: 'Average length of a data run (default 16M).' },
      { key: 'random-content=BOOL', help: 'Random bytes rather than one byte per block.' },
    ],
    magicConfigKey: 'size',
    config(key, value) {
      if (key === 'size') size = parseSize(value);
      else if (key === 'seed') {
        seed = parseInteger(value, key);
        seedGiven = true;
      } else if (key === 'percent') {
        percent = parseInteger(value, key);
        if (percent > 100) throw new ConfigError('sparse-random: percent= must be 0..100');
      } else if (key === 'runlength') runLength = Math.max(BLOCK, parseSize(value, key));
      else if (key === 'random-content') randomContent = parseBool(value, key);
      else throw new ConfigError(`sparse-random: unknown parameter ${key}`);
    },
    async configComplete() {
      if (size === undefined) throw new ConfigError('sparse-random: size= is required');
      // One random seed for the server: every worker process must serve the same disk.
      if (!seedGiven) seed = await sharedValue('sparse-random-seed', () => randomInt(2 ** 31));
      buildRuns();
    },
    open: () => null,
    getSize: () => size!,
    canMultiConn: () => true,
    canFua: () => 'native',
    pread: (_h, buf, offset) => read(buf, offset),
    pwrite(_h, buf, offset) {
      const expected = Buffer.allocUnsafe(buf.length);
      read(expected, offset);
      if (!expected.equals(buf)) throw new NbdError('EIO', `data written at ${offset} differs`);
    },
    flush: () => undefined,
    zero(_h, count, offset) {
      const r = runIndexAfter(offset);
      if (r < runs.length && runs[r]![0] < offset + count) {
        throw new NbdError('EIO', `zeroes written over data at ${offset}`);
      }
    },
    trim: () => undefined,
    extents(_h, count, offset) {
      const out: Extent[] = [];
      const end = offset + count;
      let at = offset;
      for (let r = runIndexAfter(offset); at < end && r < runs.length; r++) {
        const [start, stop] = runs[r]!;
        if (start >= end) break;
        if (start > at) out.push({ offset: at, length: start - at, type: ExtentType.HOLE_ZERO });
        const from = Math.max(start, at);
        const to = Math.min(stop, end);
        out.push({ offset: from, length: to - from, type: ExtentType.DATA });
        at = to;
      }
      if (at < end) out.push({ offset: at, length: end - at, type: ExtentType.HOLE_ZERO });
      return out;
    },
  });
}
