import { Readable, Writable } from 'node:stream';

/** A Writable that keeps what is written, for FileOut procedures read into memory. */
export class MemorySink extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error) => void): void {
    this.size += chunk.byteLength;
    if (this.size > this.maxBytes) {
      callback(new Error(`more than ${this.maxBytes} bytes; use download() to a file instead`));
      return;
    }
    // Copy: the chunk is a view into a received message.
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  get contents(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** A Readable over bytes in memory, for FileIn procedures. */
export function memorySource(data: Uint8Array): Readable {
  return Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
