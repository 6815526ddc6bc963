// The built-in filters, by command-line name. Each call makes a fresh, unconfigured instance.
import type { Filter } from '../api.js';
import { createBlocksizeFilter } from './blocksize.js';
import { createCacheFilter } from './cache.js';
import { createCheckwriteFilter } from './checkwrite.js';
import { createCowFilter } from './cow.js';
import { createDelayFilter } from './delay.js';
import { createErrorFilter } from './error.js';
import { createLogFilter } from './log.js';
import { createOffsetFilter } from './offset.js';
import { createPartitionFilter } from './partition.js';
import { createRateFilter } from './rate.js';
import { createReadaheadFilter } from './readahead.js';
import { createRetryFilter } from './retry.js';
import { createStatsFilter } from './stats.js';
import { createTruncateFilter } from './truncate.js';

export const builtinFilters: Record<string, () => Filter<unknown>> = {
  blocksize: createBlocksizeFilter,
  cache: createCacheFilter,
  checkwrite: createCheckwriteFilter,
  cow: createCowFilter,
  delay: createDelayFilter,
  error: createErrorFilter,
  log: createLogFilter,
  offset: createOffsetFilter,
  partition: createPartitionFilter,
  rate: createRateFilter,
  readahead: createReadaheadFilter,
  retry: createRetryFilter,
  stats: createStatsFilter,
  truncate: createTruncateFilter,
};
