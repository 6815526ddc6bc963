// memory: a sparse RAM disk (nbdkit-memory-plugin). All connections share one disk, in
// every worker process (see shared-disk.ts).
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { SharedDisk } from '../shared-disk.js';
import { parseSize } from '../size.js';

export function createMemoryPlugin() {
  let size: number | undefined;
  let disk: SharedDisk | undefined;
  return definePlugin<null>({
    name: 'memory',
    description: 'A sparse virtual disk held in RAM, lost when the server exits.',
    threadModel: 'multiProcess',
    keys: [{ key: 'size=SIZE', help: 'Size of the disk (required), e.g. 1G.' }],
    magicConfigKey: 'size',
    config(key, value) {
      if (key !== 'size') throw new ConfigError(`memory: unknown parameter ${key}`);
      size = parseSize(value);
    },
    configComplete() {
      if (size === undefined) throw new ConfigError('memory: size= is required, e.g. size=1G');
      disk = new SharedDisk('memory');
    },
    cleanup: () => disk?.close(),
    open: () => null,
    getSize: () => size!,
    canMultiConn: () => true,
    canFua: () => 'native',
    canFastZero: () => true,
    canCache: () => 'native',
    pread: (_h, buf, offset) => disk!.read(buf, offset),
    pwrite: (_h, buf, offset) => disk!.write(buf, offset),
    flush: () => undefined,
    trim: (_h, count, offset) => disk!.zero(count, offset),
    zero: (_h, count, offset) => disk!.zero(count, offset),
    extents: (_h, count, offset) => disk!.extents(count, offset),
    cache: () => undefined,
  });
}
