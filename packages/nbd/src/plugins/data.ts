// data: a small disk whose content is given on the command line (nbdkit-data-plugin).
// Writable; writes live in memory.
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';
import { SparseArray } from '../sparse.js';
import { parseData } from './data-format.js';

export function createDataPlugin() {
  let size: number | undefined;
  let end = 0;
  let given = false;
  const disk = new SparseArray();
  return definePlugin<null>({
    name: 'data',
    description: 'A disk holding bytes given on the command line.',
    keys: [
      { key: 'data=EXPR', help: 'Bytes, "strings", @offsets, X*N repeats, ( groups ).' },
      { key: 'raw=STRING', help: 'The bytes of STRING, as is.' },
      { key: 'base64=B64', help: 'Base64-encoded bytes.' },
      { key: 'size=SIZE', help: 'Size of the disk (default: where the data ends).' },
    ],
    magicConfigKey: 'data',
    config(key, value) {
      if (key === 'size') {
        size = parseSize(value);
        return;
      }
      if (given) throw new ConfigError('data: give only one of data=, raw=, base64=');
      given = true;
      if (key === 'data') {
        const parsed = parseData(value);
        for (const p of parsed.placed) disk.write(p.bytes, p.offset);
        end = parsed.end;
      } else if (key === 'raw' || key === 'base64') {
        const bytes = Buffer.from(value, key === 'raw' ? 'latin1' : 'base64');
        disk.write(bytes, 0);
        end = bytes.length;
      } else {
        throw new ConfigError(`data: unknown parameter ${key}`);
      }
    },
    open: () => null,
    getSize: () => size ?? end,
    canMultiConn: () => true,
    canFua: () => 'native',
    canFastZero: () => true,
    pread: (_h, buf, offset) => disk.read(buf, offset),
    pwrite: (_h, buf, offset) => disk.write(buf, offset),
    flush: () => undefined,
    trim: (_h, count, offset) => disk.zero(count, offset),
    zero: (_h, count, offset) => disk.zero(count, offset),
    extents: (_h, count, offset) => disk.extents(count, offset),
  });
}
