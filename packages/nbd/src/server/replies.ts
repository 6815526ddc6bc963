// Writes transmission replies: simple replies, structured chunks once negotiated, or
// extended chunks (32-byte headers carrying the request's offset) with extended headers.
// Data goes out without copying: reads are read into a pool buffer and the header is written
// into the room in front of it (buffer-pool.ts). Read buffers return to the pool once written.
import type { Writable } from 'node:stream';
import type { Extent } from '../api.js';
import { type BufferPool, withHeader } from '../protocol/buffer-pool.js';
import {
  EXTENDED_REPLY_MAGIC,
  ReplyFlag,
  ReplyType,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
} from '../protocol/constants.js';
import { writeU64 } from '../protocol/wire.js';

export const CONTEXT_ID_BASE_ALLOCATION = 1;

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
   * Sends a reply header and its data, which comes from readBuffer() and so has room for the
   * header in front: one buffer, one write, no copy. `sent` runs once the socket has taken
   * it (or failed to).
   */
  private writeWithData(header: Buffer, data: Buffer, sent: () => void): void {
    this.output.write(withHeader(header, data), () => {
      this.pool.release(data);
      sent();
    });
  }

  private get chunkHeaderLength(): number {
    return this.mode === 'extended' ? 32 : 20;
  }

  /** The buffer a READ's data is read into: a pool buffer, with room for the reply header. */
  readBuffer(length: number): Buffer {
    return this.pool.get(length);
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
   * READ data at `offset`, in a buffer from readBuffer(): the whole reply, or with chunked
   * replies one OFFSET_DATA chunk of it (`last` false: more chunks follow). `sent` runs once
   * the socket has taken it.
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
