// readahead: when reads are sequential, reads a growing window ahead in one request and
// serves the following reads from it (nbdkit-readahead-filter's idea). Each connection has
// its own window; writes that touch it drop it.
import { defineFilter, type Next } from '../api.js';

const MIN_WINDOW = 64 * 1024;
const MAX_WINDOW = 4 * 1024 * 1024;

interface Window {
  offset: number;
  data: Buffer | undefined;
  nextSize: number;
  lastEnd: number;
}

export function createReadaheadFilter() {
  const drop = (h: Window, offset: number, count: number) => {
    if (h.data && offset < h.offset + h.data.length && offset + count > h.offset)
      h.data = undefined;
  };
  async function read(next: Next, h: Window, buf: Buffer, offset: number): Promise<void> {
    const end = offset + buf.length;
    if (h.data && offset >= h.offset && end <= h.offset + h.data.length) {
      h.data.copy(buf, 0, offset - h.offset, end - h.offset);
      h.lastEnd = end;
      return;
    }
    const sequential = offset === h.lastEnd;
    h.nextSize = sequential ? Math.min(h.nextSize * 2, MAX_WINDOW) : MIN_WINDOW;
    h.lastEnd = end;
    const size = await next.getSize();
    const want = Math.min(Math.max(buf.length, sequential ? h.nextSize : 0), size - offset);
    if (want <= buf.length) {
      await next.pread(buf, offset);
      return;
    }
    const data = Buffer.allocUnsafe(want);
    await next.pread(data, offset);
    data.copy(buf, 0, 0, buf.length);
    h.offset = offset;
    h.data = data;
  }
  return defineFilter<Window>({
    name: 'readahead',
    threadModel: 'multiProcess', // each connection has its own window
    description: 'Read ahead when reads are sequential.',
    async open(next, readonly, exportName) {
      await next(readonly, exportName);
      return { offset: 0, data: undefined, nextSize: MIN_WINDOW, lastEnd: -1 };
    },
    pread: (next, h, buf, offset) => read(next, h, buf, offset),
    async pwrite(next, h, buf, offset, flags) {
      drop(h, offset, buf.length);
      await next.pwrite(buf, offset, flags);
    },
    async zero(next, h, count, offset, flags) {
      drop(h, offset, count);
      await next.zero(count, offset, flags);
    },
    async trim(next, h, count, offset, flags) {
      drop(h, offset, count);
      await next.trim(count, offset, flags);
    },
  });
}
