// The built-in plugins, by command-line name. Each call makes a fresh, unconfigured instance.
import type { Plugin } from '../api.js';
import { createDataPlugin } from './data.js';
import { createFilePlugin } from './file.js';
import { createHttpPlugin } from './http.js';
import { createMemoryPlugin } from './memory.js';
import { createNullPlugin } from './null.js';
import { createPatternPlugin } from './pattern.js';
import { createSparseRandomPlugin } from './sparse-random.js';
import { createZeroPlugin } from './zero.js';

export const builtinPlugins: Record<string, () => Plugin<unknown>> = {
  data: createDataPlugin,
  file: createFilePlugin,
  http: createHttpPlugin,
  memory: createMemoryPlugin,
  null: createNullPlugin,
  pattern: createPatternPlugin,
  'sparse-random': createSparseRandomPlugin,
  zero: createZeroPlugin,
};

export {
  createDataPlugin,
  createFilePlugin,
  createHttpPlugin,
  createMemoryPlugin,
  createNullPlugin,
  createPatternPlugin,
  createSparseRandomPlugin,
  createZeroPlugin,
};
