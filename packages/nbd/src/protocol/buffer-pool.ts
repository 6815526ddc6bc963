// Reuses the buffers of READ replies and WRITE payloads of the common request sizes:
// allocating a fresh 256 KiB buffer per request costs malloc, page faults (the kernel zeroes
// every new page) and garbage-collection time. A buffer comes back only once nothing uses it
// (the socket wrote it, the plugin is done).
//
// The pool holds up to MAX_POOLED_BYTES, enough for every request of a full queue (64 in
// flight) at the usual 256 KiB: a smaller cap drops buffers each round and the next round
// allocates and faults in fresh ones.
const MAX_POOLED_BYTES = 32 << 20;
const MAX_SIZES = 8;
const MIN_POOLED = 4096;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  get(length: number): Buffer {
    const buf = this.free.get(length)?.pop();
    if (!buf) return Buffer.allocUnsafeSlow(length);
    this.pooledBytes -= length;
    return buf;
  }

  /** Takes back a buffer nothing else refers to; views into shared memory are ignored. */
  release(buf: Buffer): void {
    if (buf.length < MIN_POOLED || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) {
      return;
    }
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
