// checkwrite: accepts writes only if they match what is already there, so a copy can be
// verified against its source (nbdkit-checkwrite-filter). The plugin is opened read-only.
import { ExtentType, defineFilter, type Next } from '../api.js';
import { NbdError } from '../errors.js';

async function checkZero(next: Next, count: number, offset: number): Promise<void> {
  const step = 1 << 20;
  const buf = Buffer.allocUnsafe(Math.min(step, count));
  for (let done = 0; done < count;) {
    const extents = await next.extents(count - done, offset + done, { reqOne: true });
    const e = extents[0];
    if (e && e.type & ExtentType.ZERO) {
      done = Math.min(count, e.offset + e.length - offset);
      continue;
    }
    const n = Math.min(buf.length, count - done);
    const part = buf.subarray(0, n);
    await next.pread(part, offset + done);
    if (!part.every((b) => b === 0)) {
      throw new NbdError('EIO', `checkwrite: zeroes written over data at ${offset + done}`);
    }
    done += n;
  }
}

export function createCheckwriteFilter() {
  return defineFilter<null>({
    name: 'checkwrite',
    threadModel: 'multiProcess',
    description: 'Check that writes match the existing data (EIO if not).',
    async open(next, _readonly, exportName) {
      await next(true, exportName);
      return null;
    },
    canWrite: () => true,
    canTrim: () => true,
    canZero: () => true,
    canFastZero: () => true,
    canFlush: () => true,
    canFua: () => 'native',
    async pwrite(next, _h, buf, offset) {
      const existing = Buffer.allocUnsafe(buf.length);
      await next.pread(existing, offset);
      if (!existing.equals(buf)) {
        throw new NbdError('EIO', `checkwrite: data written at ${offset} differs`);
      }
    },
    flush: () => undefined,
    trim: (next, _h, count, offset) => checkZero(next, count, offset),
    zero: (next, _h, count, offset) => checkZero(next, count, offset),
  });
}
