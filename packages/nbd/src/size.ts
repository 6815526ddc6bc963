// Parses sizes the way nbdkit does on its command line: 512, 4k, 1M, 2G, 1T (powers of 1024).
import { ConfigError } from './errors.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  b: 1,
  s: 512,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bskmgtp]?)(?:i?b)?\s*$/i.exec(text);
  const multiplier = m ? SUFFIX[m[2]!.toLowerCase()] : undefined;
  if (!m || multiplier === undefined) {
    throw new ConfigError(`${what}=${text}: not a size (examples: 512, 64k, 1M, 2G)`);
  }
  const value = Math.round(Number(m[1]) * multiplier);
  if (!Number.isSafeInteger(value)) throw new ConfigError(`${what}=${text}: too large`);
  return value;
}

export function parseBool(text: string, what: string): boolean {
  const t = text.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(t)) return true;
  if (['0', 'false', 'off', 'no'].includes(t)) return false;
  throw new ConfigError(`${what}=${text}: expected true or false`);
}

export function parseInteger(text: string, what: string, min = 0): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${what}=${text}: expected an integer >= ${min}`);
  }
  return value;
}
