// The built-in filters, by command-line name. Each call makes a fresh, unconfigured instance.
import type { Filter } from '../api.js';

export const builtinFilters: Record<string, () => Filter<unknown>> = {};
