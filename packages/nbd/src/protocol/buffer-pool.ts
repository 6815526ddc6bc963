// Reuses the buffers of READ replies and WRITE payloads of the common request sizes:
// allocating a fresh 256 KiB buffer per request costs malloc and garbage-collection time.
// A buffer comes back only once nothing uses it (the socket wrote it, the plugin is done).
const MAX_PER_SIZE = 32;
const MIN_POOLED = 16 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();

  get(length: number): Buffer {
    return this.free.get(length)?.pop() ?? Buffer.allocUnsafeSlow(length);
  }

  /** Takes back a buffer nothing else refers to; views into shared memory are ignored. */
  release(buf: Buffer): void {
    if (buf.length < MIN_POOLED || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) {
      return;
    }
    let list = this.free.get(buf.length);
    if (!list) {
      if (this.free.size > 8) return;
      list = [];
      this.free.set(buf.length, list);
    }
    if (list.length < MAX_PER_SIZE) list.push(buf);
  }
}
