// delay: waits before each request, to simulate a slow disk (nbdkit-delay-filter).
import { setTimeout as sleep } from 'node:timers/promises';
import { defineFilter } from '../api.js';
import { ownKeys, parseDelay } from './common.js';

export function createDelayFilter() {
  const ms = { read: 0, write: 0, zero: 0, trim: 0, extents: 0, cache: 0, open: 0, close: 0 };
  const set = (k: keyof typeof ms) => (v: string) => (ms[k] = parseDelay(v, `delay-${k}`));
  return defineFilter<null>({
    name: 'delay',
    threadModel: 'multiProcess',
    description: 'Delay requests (seconds or NNms).',
    keys: [
      { key: 'rdelay=T / wdelay=T', help: 'Delay reads / writes (and zero, trim).' },
      {
        key: 'delay-read=T ...',
        help: 'Also delay-write, -zero, -trim, -extents, -cache, -open, -close.',
      },
    ],
    config: ownKeys({
      rdelay: set('read'),
      wdelay: (v) => {
        set('write')(v);
        set('zero')(v);
        set('trim')(v);
      },
      'delay-read': set('read'),
      'delay-write': set('write'),
      'delay-zero': set('zero'),
      'delay-trim': set('trim'),
      'delay-extents': set('extents'),
      'delay-cache': set('cache'),
      'delay-open': set('open'),
      'delay-close': set('close'),
    }),
    async open(next, readonly, exportName) {
      await sleep(ms.open);
      await next(readonly, exportName);
      return null;
    },
    close: () => sleep(ms.close),
    async pread(next, _h, buf, offset) {
      await sleep(ms.read);
      await next.pread(buf, offset);
    },
    async pwrite(next, _h, buf, offset, flags) {
      await sleep(ms.write);
      await next.pwrite(buf, offset, flags);
    },
    async zero(next, _h, count, offset, flags) {
      await sleep(ms.zero);
      await next.zero(count, offset, flags);
    },
    async trim(next, _h, count, offset, flags) {
      await sleep(ms.trim);
      await next.trim(count, offset, flags);
    },
    async extents(next, _h, count, offset, flags) {
      await sleep(ms.extents);
      return next.extents(count, offset, flags);
    },
    async cache(next, _h, count, offset) {
      await sleep(ms.cache);
      await next.cache(count, offset);
    },
  });
}
