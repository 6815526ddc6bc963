// Finds a plugin or filter: a built-in name, or a path to a JavaScript or TypeScript module
// whose default export (or export named `plugin` / `filter`) is the object, or a function
// returning it.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Filter, Plugin } from './api.js';
import { ConfigError } from './errors.js';
import { builtinFilters } from './filters/index.js';
import { builtinPlugins } from './plugins/index.js';
import { THREAD_MODELS } from './server/stack.js';

function looksLikePath(name: string): boolean {
  return name.includes('/') || /\.(c|m)?(j|t)s$/.test(name);
}

let typeScriptHooksRegistered = false;

/** A .ts module is transpiled as it loads (see typescript-hooks.ts); the hooks, and with
 *  them the TypeScript compiler, are loaded only when the first one is asked for. */
function registerTypeScriptHooks(): void {
  if (typeScriptHooksRegistered) return;
  register(new URL('./typescript-hooks.js', import.meta.url));
  typeScriptHooksRegistered = true;
}

async function importModule(path: string, kind: string): Promise<Record<string, unknown>> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new ConfigError(`${kind} module ${path} does not exist`);
  if (/\.m?ts$/.test(absolute)) registerTypeScriptHooks();
  try {
    return (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${kind} ${path} failed to load: ${(err as Error).message}`);
  }
}

/** A module's own threadModel must be one tsnbd knows (a typo would be a silent default). */
function checkThreadModel(layer: Plugin<unknown> | Filter<unknown>, path: string): void {
  const model = layer.threadModel as string | undefined;
  if (model !== undefined && !(THREAD_MODELS as readonly string[]).includes(model)) {
    throw new ConfigError(
      `${path}: threadModel "${model}" is not one of ${THREAD_MODELS.join(', ')}`,
    );
  }
}

function pick<T>(mod: Record<string, unknown>, names: string[]): T | undefined {
  for (const n of names) {
    const value = mod[n];
    if (typeof value === 'function') return (value as () => T)();
    if (value && typeof value === 'object') return value as T;
  }
  return undefined;
}

export async function loadPlugin(name: string): Promise<Plugin<unknown>> {
  if (!looksLikePath(name)) {
    const make = builtinPlugins[name];
    if (!make) {
      throw new ConfigError(
        `unknown plugin "${name}"; built-in plugins: ${Object.keys(builtinPlugins).join(', ')} ` +
          `(or give the path of a .js or .ts plugin module)`,
      );
    }
    return make();
  }
  const plugin = pick<Plugin<unknown>>(await importModule(name, 'plugin'), ['default', 'plugin']);
  if (!plugin || typeof plugin.open !== 'function' || typeof plugin.pread !== 'function') {
    throw new ConfigError(
      `plugin ${name} must export default a plugin object with name, open, getSize and pread`,
    );
  }
  checkThreadModel(plugin, name);
  return plugin;
}

export async function loadFilter(name: string): Promise<Filter<unknown>> {
  if (!looksLikePath(name)) {
    const make = builtinFilters[name];
    if (!make) {
      throw new ConfigError(
        `unknown filter "${name}"; built-in filters: ${Object.keys(builtinFilters).join(', ')}`,
      );
    }
    return make();
  }
  const filter = pick<Filter<unknown>>(await importModule(name, 'filter'), ['default', 'filter']);
  if (!filter || typeof filter.name !== 'string') {
    throw new ConfigError(`filter ${name} must export default a filter object with a name`);
  }
  checkThreadModel(filter, name);
  return filter;
}
