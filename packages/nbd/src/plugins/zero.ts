// zero: an export of length zero (nbdkit-zero-plugin), for corner cases.
import { definePlugin } from '../api.js';

export function createZeroPlugin() {
  return definePlugin<null>({
    name: 'zero',
    threadModel: 'multiProcess',
    description: 'An empty (0 byte) disk.',
    open: () => null,
    getSize: () => 0,
    canMultiConn: () => true,
    pread: () => undefined,
  });
}
