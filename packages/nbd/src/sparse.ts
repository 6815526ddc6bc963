// A sparse byte array in this process's memory: fixed-size pages allocated on first write.
// For plugins that run in one process (the built-in memory and data plugins keep theirs in
// a file every worker process shares instead: shared-disk.ts).
import { ExtentType, type Extent } from './api.js';

// 32 KiB, as nbdkit's sparse array, so extent maps match nbdkit's.
export const PAGE_SIZE = 32 * 1024;

const SLAB_PAGES = 64;
const MAX_FREE_PAGES = 2048; // 64 MiB kept for reuse at most

export class SparseArray {
  private readonly pages = new Map<number, Buffer>();
  // Pages are cut from 2 MiB slabs: one allocation per 64 pages means far fewer ArrayBuffers
  // for the garbage collector to track. Freed pages are reused (up to 64 MiB); a slab's
  // memory goes back when none of its pages is in use or on the free list.
  private slab = Buffer.alloc(0);
  private slabUsed = 0;
  private readonly freePages: Buffer[] = [];

  private newPage(zeroed: boolean): Buffer {
    let page = this.freePages.pop();
    if (!page) {
      if (this.slabUsed >= this.slab.length) {
        this.slab = Buffer.allocUnsafeSlow(SLAB_PAGES * PAGE_SIZE);
        this.slabUsed = 0;
      }
      page = this.slab.subarray(this.slabUsed, this.slabUsed + PAGE_SIZE);
      this.slabUsed += PAGE_SIZE;
    }
    if (zeroed) page.fill(0);
    return page;
  }

  private freePage(index: number): void {
    const page = this.pages.get(index);
    if (!page) return;
    this.pages.delete(index);
    if (this.freePages.length < MAX_FREE_PAGES) this.freePages.push(page);
  }

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
        page = this.newPage(n !== PAGE_SIZE);
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
      if (n === PAGE_SIZE) this.freePage(index);
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
