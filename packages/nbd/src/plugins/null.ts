// null: reads zeroes, discards writes (nbdkit-null-plugin).
import { ExtentType, definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';

export function createNullPlugin() {
  let size = 0;
  return definePlugin<null>({
    name: 'null',
    threadModel: 'multiProcess',
    description: 'A disk that reads as zeroes and throws writes away.',
    keys: [{ key: 'size=SIZE', help: 'Size of the disk (default 0).' }],
    magicConfigKey: 'size',
    config(key, value) {
      if (key !== 'size') throw new ConfigError(`null: unknown parameter ${key}`);
      size = parseSize(value);
    },
    open: () => null,
    getSize: () => size,
    canMultiConn: () => true,
    canFua: () => 'native',
    canFastZero: () => true,
    canCache: () => 'native',
    pread: (_h, buf) => void buf.fill(0),
    pwrite: () => undefined,
    flush: () => undefined,
    trim: () => undefined,
    zero: () => undefined,
    extents: (_h, count, offset) => [{ offset, length: count, type: ExtentType.HOLE_ZERO }],
    cache: () => undefined,
  });
}
