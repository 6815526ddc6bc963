// @tsvirt/nbd: an NBD server whose plugins and filters are TypeScript modules, a client
// and a copy function.
export * from './api.js';
export { NbdError, ConfigError, ProtocolError, errnoNameOf } from './errors.js';
export { NbdErrno, type NbdErrnoName } from './protocol/constants.js';
export { Stack, type OpenLayer } from './server/stack.js';
export { NbdServer, type ListenAddress } from './server/server.js';
export { Connection, type ConnectionOptions, type TlsMode } from './server/connection.js';
export { normalizeExtents } from './extents.js';
export * from './plugins/index.js';
export { builtinFilters } from './filters/index.js';
export { createBlocksizeFilter } from './filters/blocksize.js';
export { createCacheFilter } from './filters/cache.js';
export { createCheckwriteFilter } from './filters/checkwrite.js';
export { createCowFilter } from './filters/cow.js';
export { createDelayFilter } from './filters/delay.js';
export { createErrorFilter } from './filters/error.js';
export { createLogFilter } from './filters/log.js';
export { createOffsetFilter } from './filters/offset.js';
export { createPartitionFilter } from './filters/partition.js';
export { createRateFilter } from './filters/rate.js';
export { createReadaheadFilter } from './filters/readahead.js';
export { createRetryFilter } from './filters/retry.js';
export { createStatsFilter } from './filters/stats.js';
export { createTruncateFilter } from './filters/truncate.js';
export { loadPlugin, loadFilter } from './loader.js';
export { SparseArray } from './sparse.js';
export { parseSize } from './size.js';
export {
  NbdClient,
  parseNbdUri,
  type ConnectOptions,
  type ExportDetails,
} from './client/client.js';
export { copyDisk, type CopyOptions, type CopyResult } from './copy/copy.js';
export { isAllZero } from './zeroes.js';
