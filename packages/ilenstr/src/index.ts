export { IlenstrError, type IlenstrErrorCode } from './errors.js';
export { Heap, defaultHeap, type CFunctions, type HeapOptions, type HeapStats } from './heap.js';
export { Ilenstr } from './ilenstr.js';
export {
  legacy,
  legacyUnchecked,
  type LegacyArgs,
  type LegacyName,
  type LegacyResult,
} from './legacy.js';
