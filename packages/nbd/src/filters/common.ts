// Helpers shared by the filters.
import type { ConfigNext } from '../api.js';
import { ConfigError } from '../errors.js';

/** A filter's config callback: handles its own keys, passes the rest to the next layer. */
export function ownKeys(
  handlers: Record<string, (value: string) => void>,
): (next: ConfigNext, key: string, value: string) => Promise<void> {
  return async (next, key, value) => {
    const handle = handlers[key];
    if (handle) handle(value);
    else await next(key, value);
  };
}

/** nbdkit's delay syntax: seconds (`1.5`) or milliseconds (`20ms`). */
export function parseDelay(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`${what}=${text}: expected seconds or NNms`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Shifts extents by `delta` bytes (offset filters). */
export function shiftExtents<T extends { offset: number }>(extents: T[], delta: number): T[] {
  return extents.map((e) => ({ ...e, offset: e.offset + delta }));
}
