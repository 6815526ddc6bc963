// Reuses the buffers of READ replies and WRITE payloads of the common request sizes:
// allocating a fresh 256 KiB buffer per request costs malloc, page faults (the kernel zeroes
// every new page) and garbage-collection time. A buffer comes back only once nothing uses it
// (the socket wrote it, the plugin is done).
//
// The pool holds up to MAX_POOLED_BYTES, enough for every request of a full queue (64 in
// flight) at the usual 256 KiB: a smaller cap drops buffers each round and the next round
// allocates and faults in fresh ones.
//
// Every buffer starts HEADROOM bytes into memory of its own, for two reasons. A READ reply's
// header is written into the room in front of its data, so header and data go out as one
// write without a copy. And the data never starts on a page boundary: Node puts large
// buffers on one, and on AMD EPYC (the machines this was measured on) the kernel copies
// between a page-aligned user buffer and page-aligned kernel pages (a pread from tmpfs or
// the page cache, a pwrite into it) at 2.2 GB/s, against 7.5-8 GB/s at any offset from 16 to
// 4080 bytes into the page. 64 keeps the data on a cache line boundary, which other CPUs'
// copies prefer.
export const HEADROOM = 64;
const MAX_POOLED_BYTES = 32 << 20;
const MAX_SIZES = 8;
const MIN_POOLED = 4096;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  /** A buffer of `length` bytes with HEADROOM bytes of its own memory in front of it. */
  get(length: number): Buffer {
    const buf = this.free.get(length)?.pop();
    if (!buf) return Buffer.allocUnsafeSlow(HEADROOM + length).subarray(HEADROOM);
    this.pooledBytes -= length;
    return buf;
  }

  /** Takes back a buffer from get() that nothing refers to any more; others are ignored. */
  release(buf: Buffer): void {
    if (!isPoolBuffer(buf) || buf.length < MIN_POOLED) return;
    if (this.pooledBytes + buf.length > MAX_POOLED_BYTES) return;
    let list = this.free.get(buf.length);
    if (!list) {
      if (this.free.size >= MAX_SIZES) return;
      list = [];
      this.free.set(buf.length, list);
    }
    list.push(buf);
    this.pooledBytes += buf.length;
  }
}

/** True for a whole buffer from BufferPool.get(): its memory starts HEADROOM bytes earlier. */
export function isPoolBuffer(buf: Buffer): boolean {
  return buf.byteOffset === HEADROOM && buf.buffer.byteLength === HEADROOM + buf.length;
}

/**
 * A pool buffer with `header` copied into the room in front of it: one buffer holding both,
 * sharing the pool buffer's memory.
 */
export function withHeader(header: Buffer, data: Buffer): Buffer {
  if (!isPoolBuffer(data) || header.length > HEADROOM) {
    throw new Error('withHeader: the data must be a whole buffer from BufferPool.get()');
  }
  const frame = Buffer.from(data.buffer, HEADROOM - header.length, header.length + data.length);
  header.copy(frame, 0);
  return frame;
}
