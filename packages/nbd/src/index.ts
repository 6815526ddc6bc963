// @tsvirt/nbd: an NBD server whose plugins and filters are TypeScript modules.
export * from './api.js';
export { NbdError, ConfigError, ProtocolError, errnoNameOf } from './errors.js';
export { NbdErrno, type NbdErrnoName } from './protocol/constants.js';
export { Stack, type OpenLayer } from './server/stack.js';
export { NbdServer, type ListenAddress } from './server/server.js';
export {
  Connection,
  normalizeExtents,
  type ConnectionOptions,
  type TlsMode,
} from './server/connection.js';
export { builtinPlugins } from './plugins/index.js';
export { builtinFilters } from './filters/index.js';
export { loadPlugin, loadFilter } from './loader.js';
export { SparseArray } from './sparse.js';
export { parseSize } from './size.js';
