// offset: serves a window [offset, offset+range) of the plugin (nbdkit-offset-filter).
import { defineFilter } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';
import { ownKeys, shiftExtents } from './common.js';

export function createOffsetFilter() {
  let offset = 0;
  let range: number | undefined;
  return defineFilter<null>({
    name: 'offset',
    threadModel: 'multiProcess',
    description: 'Serve only a range of the plugin.',
    keys: [
      { key: 'offset=SIZE', help: 'Start of the window (default 0).' },
      { key: 'range=SIZE', help: 'Length of the window (default: to the end).' },
    ],
    config: ownKeys({
      offset: (v) => (offset = parseSize(v, 'offset')),
      range: (v) => (range = parseSize(v, 'range')),
    }),
    async getSize(next) {
      const size = await next.getSize();
      if (offset > size)
        throw new ConfigError(`offset: offset=${offset} is past the end (${size})`);
      if (range !== undefined && offset + range > size) {
        throw new ConfigError(`offset: offset+range is past the end of the plugin (${size})`);
      }
      return range ?? size - offset;
    },
    pread: (next, _h, buf, at) => next.pread(buf, at + offset),
    pwrite: (next, _h, buf, at, flags) => next.pwrite(buf, at + offset, flags),
    trim: (next, _h, count, at, flags) => next.trim(count, at + offset, flags),
    zero: (next, _h, count, at, flags) => next.zero(count, at + offset, flags),
    cache: (next, _h, count, at) => next.cache(count, at + offset),
    async extents(next, _h, count, at, flags) {
      return shiftExtents(await next.extents(count, at + offset, flags), -offset);
    },
  });
}
