// data: a small disk whose content is given on the command line (nbdkit-data-plugin).
// Writable; writes live in RAM, shared by every worker process (see shared-disk.ts).
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { SharedDisk } from '../shared-disk.js';
import { parseSize } from '../size.js';
import { parseData } from './data-format.js';

export function createDataPlugin() {
  let size: number | undefined;
  let end = 0;
  let placed: { bytes: Buffer; offset: number }[] | undefined;
  let disk: SharedDisk | undefined;
  return definePlugin<null>({
    name: 'data',
    description: 'A disk holding bytes given on the command line.',
    threadModel: 'multiProcess',
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
      if (placed) throw new ConfigError('data: give only one of data=, raw=, base64=');
      if (key === 'data') {
        const parsed = parseData(value);
        placed = parsed.placed;
        end = parsed.end;
      } else if (key === 'raw' || key === 'base64') {
        const bytes = Buffer.from(value, key === 'raw' ? 'latin1' : 'base64');
        placed = [{ bytes, offset: 0 }];
        end = bytes.length;
      } else {
        throw new ConfigError(`data: unknown parameter ${key}`);
      }
    },
    configComplete() {
      // Written once, by the process that creates the disk (not again by each worker).
      disk = new SharedDisk('data', (d) => {
        for (const p of placed ?? []) d.writeSync(p.bytes, p.offset);
      });
    },
    cleanup: () => disk?.close(),
    open: () => null,
    getSize: () => size ?? end,
    canMultiConn: () => true,
    canFua: () => 'native',
    canFastZero: () => true,
    pread: (_h, buf, offset) => disk!.read(buf, offset),
    pwrite: (_h, buf, offset) => disk!.write(buf, offset),
    flush: () => undefined,
    trim: (_h, count, offset) => disk!.zero(count, offset),
    zero: (_h, count, offset) => disk!.zero(count, offset),
    extents: (_h, count, offset) => disk!.extents(count, offset),
  });
}
