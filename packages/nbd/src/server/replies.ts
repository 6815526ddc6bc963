// Writes transmission replies: simple replies, structured chunks once negotiated, or
// extended chunks (32-byte headers carrying the request's offset) with extended headers.
// Data goes out without copying: small reads are read into the reply buffer itself, large
// ones are sent after their header as one writev. Read buffers return to the pool once written.
import type { Writable } from 'node:stream';
import type { Extent } from '../api.js';
import type { BufferPool } from '../protocol/buffer-pool.js';
import {
  EXTENDED_REPLY_MAGIC,
  ReplyFlag,
  ReplyType,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
} from '../protocol/constants.js';
import { writeU64 } from '../protocol/wire.js';

export const CONTEXT_ID_BASE_ALLOCATION = 1;
/** Reads up to this size are read into their reply buffer (see readBuffer). */
const SMALL_REPLY = 64 * 1024;

/** Which replies were negotiated: none, NBD_OPT_STRUCTURED_REPLY or NBD_OPT_EXTENDED_HEADERS. */
export type ReplyMode = 'simple' | 'structured' | 'extended';

/**
 * Replies name their request by `id`: the request header's cookie and offset as sent (16
 * bytes); compact replies echo the cookie, extended ones both.
 */
export class ReplyWriter {
  mode: ReplyMode = 'simple';

  constructor(
    private readonly output: Writable,
    private readonly pool: BufferPool,
  ) {}

  private get dead(): boolean {
    return this.output.destroyed || this.output.writableEnded;
  }

  /** Structured or extended replies: READ data and errors travel in chunks. */
  get chunked(): boolean {
    return this.mode !== 'simple';
  }

  /** Success without data (extended headers forbid simple replies). */
  replyDone(id: Buffer): void {
    if (this.mode !== 'extended') {
      this.replySimple(id, 0);
      return;
    }
    if (this.dead) return;
    this.output.write(this.chunkHeader(id, ReplyFlag.DONE, ReplyType.NONE, 0, 0));
  }

  private replySimple(id: Buffer, error: number): void {
    if (this.dead) return;
    this.output.write(this.simpleHeader(id, error));
  }

  private simpleHeader(id: Buffer, error: number): Buffer {
    const header = Buffer.allocUnsafe(16);
    header.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    header.writeUInt32BE(error, 4);
    id.copy(header, 8, 0, 8);
    return header;
  }

  /**
   * Sends a reply header and its data. Data from readBuffer() already has room for the
   * header in front: one buffer, one write, no copy. Other data (large reads) goes out
   * corked after its header as one writev, also without copying. `sent` runs once the
   * socket has taken the data (or failed to).
   */
  private writeWithData(header: Buffer, data: Buffer, sent: () => void): void {
    if (isInFrame(data, header.length)) {
      const frame = Buffer.from(data.buffer, 0, header.length + data.length);
      header.copy(frame, 0);
      this.output.write(frame, () => {
        this.pool.release(frame);
        sent();
      });
      return;
    }
    this.output.cork();
    this.output.write(header);
    this.output.write(data, () => {
      this.pool.release(data);
      sent();
    });
    this.output.uncork();
  }

  /** Length of the header in front of a READ reply's data. */
  private get readHeaderLength(): number {
    return this.mode === 'simple' ? 16 : this.chunkHeaderLength + 8;
  }

  private get chunkHeaderLength(): number {
    return this.mode === 'extended' ? 32 : 20;
  }

  /**
   * The buffer a READ's data is read into. A small one is the tail of a buffer with room
   * for the reply header in front, so the reply is sent as one write without a copy; a
   * large one comes from the pool and is sent after its header as one writev.
   */
  readBuffer(length: number): Buffer {
    if (length > SMALL_REPLY) return this.pool.get(length);
    const room = this.readHeaderLength;
    return this.pool.get(room + length).subarray(room);
  }

  /** A chunk header followed by `extra` bytes of room for the start of its payload. */
  private chunkHeader(
    id: Buffer,
    flags: number,
    type: number,
    length: number,
    extra: number,
  ): Buffer {
    const extended = this.mode === 'extended';
    const header = Buffer.allocUnsafe(this.chunkHeaderLength + extra);
    header.writeUInt32BE(extended ? EXTENDED_REPLY_MAGIC : STRUCTURED_REPLY_MAGIC, 0);
    header.writeUInt16BE(flags, 4);
    header.writeUInt16BE(type, 6);
    if (extended) {
      id.copy(header, 8, 0, 16);
      writeU64(header, length, 24);
    } else {
      id.copy(header, 8, 0, 8);
      header.writeUInt32BE(length, 16);
    }
    return header;
  }

  /**
   * READ data at `offset`: the whole reply, or with chunked replies one OFFSET_DATA chunk of
   * it (`last` false: more chunks follow). `sent` runs once the socket has taken it.
   */
  replyRead(id: Buffer, offset: number, data: Buffer, last: boolean, sent: () => void): void {
    if (this.dead) {
      sent();
      return;
    }
    if (!this.chunked) {
      this.writeWithData(this.simpleHeader(id, 0), data, sent);
      return;
    }
    const flags = last ? ReplyFlag.DONE : 0;
    const header = this.chunkHeader(id, flags, ReplyType.OFFSET_DATA, 8 + data.length, 8);
    writeU64(header, offset, this.chunkHeaderLength);
    this.writeWithData(header, data, sent);
  }

  /**
   * An error reply: an ERROR chunk with extended headers, or with structured replies when
   * the command needs one (READ, BLOCK_STATUS); else a simple reply.
   */
  replyError(id: Buffer, structuredOnly: boolean, errno: number, message: string): void {
    if (this.mode === 'simple' || (this.mode === 'structured' && !structuredOnly)) {
      this.replySimple(id, errno);
      return;
    }
    if (this.dead) return;
    const text = Buffer.from(message.slice(0, 1024));
    const at = this.chunkHeaderLength;
    const header = this.chunkHeader(id, ReplyFlag.DONE, ReplyType.ERROR, 6 + text.length, 6);
    header.writeUInt32BE(errno, at);
    header.writeUInt16BE(text.length, at + 4);
    this.output.write(Buffer.concat([header, text]));
  }

  /** base:allocation extents: BLOCK_STATUS (32-bit lengths) or BLOCK_STATUS_EXT (64-bit). */
  replyBlockStatus(id: Buffer, extents: Extent[]): void {
    if (this.dead) return;
    const extended = this.mode === 'extended';
    const type = extended ? ReplyType.BLOCK_STATUS_EXT : ReplyType.BLOCK_STATUS;
    const body = extended ? 8 + 16 * extents.length : 4 + 8 * extents.length;
    const reply = this.chunkHeader(id, ReplyFlag.DONE, type, body, body);
    let at = this.chunkHeaderLength;
    reply.writeUInt32BE(CONTEXT_ID_BASE_ALLOCATION, at);
    at += 4;
    if (extended) {
      reply.writeUInt32BE(extents.length, at);
      at += 4;
    }
    for (const e of extents) {
      if (extended) {
        writeU64(reply, e.length, at);
        writeU64(reply, e.type, at + 8);
        at += 16;
      } else {
        reply.writeUInt32BE(e.length, at);
        reply.writeUInt32BE(e.type, at + 4);
        at += 8;
      }
    }
    this.output.write(reply);
  }
}

/** True when `data` is a readBuffer() tail: its own ArrayBuffer with `room` bytes before it. */
function isInFrame(data: Buffer, room: number): boolean {
  return data.byteOffset === room && data.buffer.byteLength === room + data.length;
}
