// Reads exact byte counts from a stream. Bytes are kept as the chunks the socket delivered;
// a read that fits in one chunk is a view of it (no copy), one that spans chunks is joined
// once, and one the caller keeps (`allocate` given) is always a copy. Reading pauses the
// stream when too much is buffered and nobody is reading.
import type { Readable } from 'node:stream';
import { ProtocolError } from '../errors.js';

// Input kept while the server is not reading (e.g. while a write waits for room).
const HIGH_WATER = 8 << 20;

/** A look at the first `length` bytes of a message before the rest has arrived: `check`
 *  gets a buffer that starts with them (and may hold more). */
export interface Inspection {
  length: number;
  check: (start: Buffer) => void;
}

interface Waiter {
  length: number;
  allocate: ((n: number) => Buffer) | undefined;
  /** The first `inspect.length` bytes are shown to `inspect.check` as soon as they are in,
   *  before the rest arrives; an error it throws rejects the read. */
  inspect: Inspection | undefined;
  resolve(buf: Buffer): void;
  reject(err: Error): void;
}

export class StreamReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: Waiter | undefined;
  private ended: Error | undefined;
  private readonly onData = (chunk: Buffer) => this.push(chunk);
  private readonly onEnd = () => this.end(new ProtocolError('the peer closed the connection'));
  // A write to a peer that went away fails before the end is read: the same news.
  private readonly onError = (err: NodeJS.ErrnoException) =>
    this.end(
      err.code === 'EPIPE' || err.code === 'ECONNRESET'
        ? new ProtocolError(`the peer closed the connection (${err.code})`)
        : err,
    );

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /** Stops listening (before the stream is handed to TLS); returns bytes not yet read. */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.serveWaiter();
    if (this.buffered > HIGH_WATER && !this.waiter) this.stream.pause();
  }

  private serveWaiter(): void {
    const w = this.waiter;
    if (!w) return;
    if (w.inspect && this.buffered >= w.inspect.length) {
      const inspect = w.inspect;
      w.inspect = undefined;
      const first = this.chunks[0]!;
      try {
        inspect.check(first.length >= inspect.length ? first : Buffer.concat(this.chunks));
      } catch (err) {
        this.waiter = undefined;
        w.reject(err as Error);
        return;
      }
    }
    if (this.buffered >= w.length) {
      this.waiter = undefined;
      w.resolve(this.take(w.length, w.allocate));
    }
  }

  private end(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  /**
   * The next `length` bytes: a view of the chunk holding them all, or a copy when they span
   * chunks or `allocate` is given (into a buffer from it). A caller that keeps the bytes
   * long (a WRITE payload, while the plugin writes it) passes `allocate`, so that it never
   * holds on to a whole input buffer (socket-input.ts reads into 1 MiB ones).
   */
  private take(length: number, allocate?: (n: number) => Buffer): Buffer {
    this.buffered -= length;
    const first = this.chunks[0];
    if (first && first.length >= length && !allocate) {
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    const out = allocate ? allocate(length) : Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return out;
  }

  /** The next `length` bytes, or undefined if they have not all arrived yet. */
  tryRead(length: number, allocate?: (n: number) => Buffer): Buffer | undefined {
    if (this.buffered < length) return undefined;
    const buf = this.take(length, allocate);
    if (this.buffered <= HIGH_WATER && this.stream.isPaused()) this.stream.resume();
    return buf;
  }

  /** The next `length` bytes; `allocate` provides the buffer when they must be joined. */
  read(length: number, allocate?: (n: number) => Buffer): Promise<Buffer> {
    return this.readChecked(length, undefined, allocate);
  }

  /**
   * The next `length` bytes, with `inspect.check` called on the first `inspect.length` as soon
   * as they are in: a peer that sent a short message of the wrong kind is refused at once
   * instead of being waited for.
   */
  readChecked(
    length: number,
    inspect: Inspection | undefined,
    allocate?: (n: number) => Buffer,
  ): Promise<Buffer> {
    const ready = this.tryRead(length, allocate);
    if (ready) {
      inspect?.check(ready);
      return Promise.resolve(ready);
    }
    if (this.ended) return Promise.reject(this.ended);
    if (this.waiter) return Promise.reject(new Error('StreamReader: concurrent reads'));
    if (this.stream.isPaused()) this.stream.resume();
    return new Promise((resolve, reject) => {
      this.waiter = { length, resolve, reject, allocate, inspect };
      this.serveWaiter(); // the start of the message may be here already
    });
  }

  /** Reads and drops `length` bytes without keeping them all in memory. */
  async skip(length: number): Promise<void> {
    const step = 1 << 20;
    for (let left = length; left > 0;) {
      const n = Math.min(step, left);
      await this.read(n);
      left -= n;
    }
  }
}
