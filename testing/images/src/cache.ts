// The image cache: one entry per key under CACHE_DIR, built at most once even when several
// test processes (or several checkouts) ask for the same key at the same time: the
// builder's cache (@tsvirt/builder's `cached`: a temporary name renamed into place, and a
// lock that a dead builder's successor takes over, removing what it had half written).
import { cached as cachedIn } from '@tsvirt/builder';

export const CACHE_DIR = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';

/**
 * Returns `CACHE_DIR/name`, calling `build(tempPath)` first unless it exists. `build` must
 * write its result to `tempPath`; it is renamed into place only when `build` succeeds.
 */
export function cached(name: string, build: (tempPath: string) => Promise<void>): Promise<string> {
  return cachedIn(CACHE_DIR, name, build);
}
