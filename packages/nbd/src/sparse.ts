// A sparse byte array in memory: fixed-size pages allocated on first write. Shared by the
// memory and data plugins and the cow and cache filters.
import { ExtentType, type Extent } from './api.js';

// 32 KiB, as nbdkit's sparse array, so extent maps match nbdkit's.
export const PAGE_SIZE = 32 * 1024;

export class SparseArray {
  private readonly pages = new Map<number, Buffer>();

  get allocatedBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  /** True when the page holding `offset` has been written. */
  has(offset: number): boolean {
    return this.pages.has(Math.floor(offset / PAGE_SIZE));
  }

  read(buf: Buffer, offset: number): void {
    let done = 0;
    while (done < buf.length) {
      const at = offset + done;
      const index = Math.floor(at / PAGE_SIZE);
      const inPage = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      const page = this.pages.get(index);
      if (page) page.copy(buf, done, inPage, inPage + n);
      else buf.fill(0, done, done + n);
      done += n;
    }
  }

  write(buf: Buffer, offset: number): void {
    let done = 0;
    while (done < buf.length) {
      const at = offset + done;
      const index = Math.floor(at / PAGE_SIZE);
      const inPage = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      let page = this.pages.get(index);
      if (!page) {
        // A page written whole needs no zeroing first.
        page = n === PAGE_SIZE ? Buffer.allocUnsafeSlow(PAGE_SIZE) : Buffer.alloc(PAGE_SIZE);
        this.pages.set(index, page);
      }
      buf.copy(page, inPage, done, done + n);
      done += n;
    }
  }

  /** Makes the range read as zeroes, freeing whole pages. */
  zero(count: number, offset: number): void {
    let done = 0;
    while (done < count) {
      const at = offset + done;
      const index = Math.floor(at / PAGE_SIZE);
      const inPage = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, count - done);
      if (n === PAGE_SIZE) this.pages.delete(index);
      else this.pages.get(index)?.fill(0, inPage, inPage + n);
      done += n;
    }
  }

  /** Allocated pages are data, missing ones are holes that read as zeroes. */
  extents(count: number, offset: number): Extent[] {
    const out: Extent[] = [];
    const end = offset + count;
    let at = offset;
    while (at < end) {
      const index = Math.floor(at / PAGE_SIZE);
      const pageEnd = Math.min((index + 1) * PAGE_SIZE, end);
      const type = this.pages.has(index) ? ExtentType.DATA : ExtentType.HOLE_ZERO;
      const last = out[out.length - 1];
      if (last && last.type === type) last.length += pageEnd - at;
      else out.push({ offset: at, length: pageEnd - at, type });
      at = pageEnd;
    }
    return out;
  }
}
