// Extent lists as layers return them, made into what a client may be sent.
import { ExtentType, type Extent } from './api.js';
import { NbdError } from './errors.js';

/**
 * Clips what a layer returned to [offset, offset+length), merges neighbours of one type and
 * stops at the first gap. Throws EIO when nothing covers `offset`.
 */
export function normalizeExtents(
  extents: readonly Extent[],
  offset: number,
  length: number,
  reqOne: boolean,
): Extent[] {
  const end = offset + length;
  const out: Extent[] = [];
  let at = offset;
  for (const e of extents) {
    const eEnd = e.offset + e.length;
    if (eEnd <= at || e.length <= 0) continue;
    if (e.offset > at) break;
    const stop = Math.min(eEnd, end);
    const type = e.type & (ExtentType.HOLE | ExtentType.ZERO);
    const last = out[out.length - 1];
    if (last && last.type === type) last.length += stop - at;
    else out.push({ offset: at, length: stop - at, type });
    at = stop;
    if (at >= end) break;
  }
  if (out.length === 0) {
    throw new NbdError('EIO', `extents returned by the plugin do not cover offset ${offset}`);
  }
  return reqOne ? out.slice(0, 1) : out;
}
