// Writes transmission replies: simple replies, or structured chunks once negotiated.
// Data goes out without copying: small reads are read into the reply buffer itself, large
// ones are sent after their header as one writev. Read buffers return to the pool once written.
import type { Writable } from 'node:stream';
import type { Extent } from '../api.js';
import type { BufferPool } from '../protocol/buffer-pool.js';
import {
  ReplyFlag,
  ReplyType,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
} from '../protocol/constants.js';
import { writeU64 } from '../protocol/wire.js';

export const CONTEXT_ID_BASE_ALLOCATION = 1;
/** Reads up to this size are read into their reply buffer (see readBuffer). */
const SMALL_REPLY = 64 * 1024;

export class ReplyWriter {
  /** Set once NBD_OPT_STRUCTURED_REPLY is acknowledged. */
  structured = false;

  constructor(
    private readonly output: Writable,
    private readonly pool: BufferPool,
  ) {}

  private get dead(): boolean {
    return this.output.destroyed || this.output.writableEnded;
  }

  replySimple(cookie: Buffer, error: number, data?: Buffer): void {
    if (this.dead) return;
    const header = Buffer.allocUnsafe(16);
    header.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    header.writeUInt32BE(error, 4);
    cookie.copy(header, 8);
    if (!data) {
      this.output.write(header);
      return;
    }
    this.writeWithData(header, data);
  }

  /**
   * Sends a reply header and its data. Data from readBuffer() already has room for the
   * header in front: one buffer, one write, no copy. Other data (large reads) goes out
   * corked after its header as one writev, also without copying.
   */
  private writeWithData(header: Buffer, data: Buffer): void {
    if (isInFrame(data, header.length)) {
      const frame = Buffer.from(data.buffer, 0, header.length + data.length);
      header.copy(frame, 0);
      this.output.write(frame);
      return;
    }
    this.output.cork();
    this.output.write(header);
    this.output.write(data, () => this.pool.release(data));
    this.output.uncork();
  }

  /** Length of the header in front of a READ reply's data. */
  private get readHeaderLength(): number {
    return this.structured ? 28 : 16;
  }

  /**
   * The buffer a READ's data is read into. A small one is the tail of a buffer with room
   * for the reply header in front, so the reply is sent as one write without a copy; a
   * large one comes from the pool and is sent after its header as one writev.
   */
  readBuffer(length: number): Buffer {
    if (length > SMALL_REPLY) return this.pool.get(length);
    const room = this.readHeaderLength;
    return Buffer.allocUnsafeSlow(room + length).subarray(room);
  }

  private chunkHeader(
    cookie: Buffer,
    flags: number,
    type: number,
    length: number,
    extra: number,
  ): Buffer {
    const header = Buffer.allocUnsafe(20 + extra);
    header.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
    header.writeUInt16BE(flags, 4);
    header.writeUInt16BE(type, 6);
    cookie.copy(header, 8);
    header.writeUInt32BE(length, 16);
    return header;
  }

  replyRead(cookie: Buffer, offset: number, data: Buffer): void {
    if (!this.structured) {
      this.replySimple(cookie, 0, data);
      return;
    }
    if (this.dead) return;
    const header = this.chunkHeader(
      cookie,
      ReplyFlag.DONE,
      ReplyType.OFFSET_DATA,
      8 + data.length,
      8,
    );
    writeU64(header, offset, 20);
    this.writeWithData(header, data);
  }

  /** An error reply: a structured ERROR chunk when the command needs one, else simple. */
  replyError(cookie: Buffer, structuredOnly: boolean, errno: number, message: string): void {
    if (!this.structured || !structuredOnly) {
      this.replySimple(cookie, errno);
      return;
    }
    if (this.dead) return;
    const text = Buffer.from(message.slice(0, 1024));
    const header = this.chunkHeader(cookie, ReplyFlag.DONE, ReplyType.ERROR, 6 + text.length, 6);
    header.writeUInt32BE(errno, 20);
    header.writeUInt16BE(text.length, 24);
    this.output.write(Buffer.concat([header, text]));
  }

  replyBlockStatus(cookie: Buffer, extents: Extent[]): void {
    if (this.dead) return;
    const body = 4 + 8 * extents.length;
    const reply = this.chunkHeader(cookie, ReplyFlag.DONE, ReplyType.BLOCK_STATUS, body, body);
    reply.writeUInt32BE(CONTEXT_ID_BASE_ALLOCATION, 20);
    let at = 24;
    for (const e of extents) {
      reply.writeUInt32BE(e.length, at);
      reply.writeUInt32BE(e.type, at + 4);
      at += 8;
    }
    this.output.write(reply);
  }
}

/** True when `data` is a readBuffer() tail: its own ArrayBuffer with `room` bytes before it. */
function isInFrame(data: Buffer, room: number): boolean {
  return data.byteOffset === room && data.buffer.byteLength === room + data.length;
}
