// truncate: changes the size the client sees (nbdkit-truncate-filter). Bytes past the
// plugin's end read as zeroes; writing anything but zeroes there fails with ENOSPC.
import { ExtentType, defineFilter, type Next } from '../api.js';
import { NbdError } from '../errors.js';
import { parseSize } from '../size.js';
import { ownKeys } from './common.js';

export function createTruncateFilter() {
  let truncate: number | undefined;
  let roundUp = 0;
  let roundDown = 0;
  const realSize = (next: Next) => next.getSize();
  return defineFilter<null>({
    name: 'truncate',
    threadModel: 'multiProcess',
    description: 'Truncate, extend or round the size of the plugin.',
    keys: [
      { key: 'truncate=SIZE', help: 'The new size.' },
      { key: 'round-up=N', help: 'Round the size up to a multiple of N.' },
      { key: 'round-down=N', help: 'Round the size down to a multiple of N.' },
    ],
    config: ownKeys({
      truncate: (v) => (truncate = parseSize(v, 'truncate')),
      'round-up': (v) => (roundUp = parseSize(v, 'round-up')),
      'round-down': (v) => (roundDown = parseSize(v, 'round-down')),
    }),
    async getSize(next) {
      let size = truncate ?? (await next.getSize());
      if (roundUp > 0) size = Math.ceil(size / roundUp) * roundUp;
      if (roundDown > 0) size = Math.floor(size / roundDown) * roundDown;
      return size;
    },
    async pread(next, _h, buf, offset) {
      const real = await realSize(next);
      const inside = Math.max(0, Math.min(buf.length, real - offset));
      if (inside > 0) await next.pread(buf.subarray(0, inside), offset);
      buf.fill(0, inside);
    },
    async pwrite(next, _h, buf, offset, flags) {
      const real = await realSize(next);
      const inside = Math.max(0, Math.min(buf.length, real - offset));
      if (!buf.subarray(inside).every((b) => b === 0)) {
        throw new NbdError('ENOSPC', 'truncate: data written past the end of the plugin');
      }
      if (inside > 0) await next.pwrite(buf.subarray(0, inside), offset, flags);
    },
    async trim(next, _h, count, offset, flags) {
      const inside = Math.min(count, (await realSize(next)) - offset);
      if (inside > 0) await next.trim(inside, offset, flags);
    },
    async zero(next, _h, count, offset, flags) {
      const inside = Math.min(count, (await realSize(next)) - offset);
      if (inside > 0) await next.zero(inside, offset, flags);
    },
    async extents(next, _h, count, offset, flags) {
      const real = await realSize(next);
      if (offset >= real) return [{ offset, length: count, type: ExtentType.HOLE_ZERO }];
      const inside = Math.min(count, real - offset);
      const extents = await next.extents(inside, offset, flags);
      if (offset + count > real) {
        extents.push({ offset: real, length: offset + count - real, type: ExtentType.HOLE_ZERO });
      }
      return extents;
    },
  });
}
