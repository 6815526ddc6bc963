// An NBD client: fixed newstyle handshake (extended headers or structured replies,
// base:allocation, GO with block sizes), then any number of requests in flight, matched to
// replies by cookie.
import net from 'node:net';
import { NbdError, ProtocolError } from '../errors.js';
import {
  BASE_ALLOCATION,
  Cmd,
  CmdFlag,
  EXTENDED_REPLY_MAGIC,
  EXTENDED_REQUEST_MAGIC,
  IHAVEOPT,
  Info,
  NBDMAGIC,
  NbdErrno,
  OPT_REPLY_MAGIC,
  Opt,
  REQUEST_MAGIC,
  Rep,
  ReplyFlag,
  ReplyType,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
  TFlag,
  type NbdErrnoName,
} from '../protocol/constants.js';
import { StreamReader } from '../protocol/reader.js';
import { readU64, writeU64 } from '../protocol/wire.js';
import type { Extent } from '../api.js';

export interface ConnectOptions {
  /** A unix socket path, or host and port. */
  socket?: string;
  host?: string;
  port?: number;
  exportName?: string;
  /** Ask for base:allocation (default true). */
  blockStatus?: boolean;
  /** Negotiate structured replies (default true); false speaks like the Linux kernel client. */
  structuredReplies?: boolean;
  /**
   * Ask for extended headers (64-bit lengths) first (default: as `structuredReplies`); a
   * server that refuses gets structured replies instead.
   */
  extendedHeaders?: boolean;
}

export interface ExportDetails {
  size: number;
  flags: number;
  blockSize: { minimum: number; preferred: number; maximum: number };
  /** Structured replies or extended headers: READ data and errors come in chunks. */
  structured: boolean;
  /** Extended headers: 32-byte requests and replies, 64-bit lengths. */
  extended: boolean;
  baseAllocation: boolean;
}

interface Pending {
  resolve(value: Buffer | Extent[] | undefined): void;
  reject(err: Error): void;
  type: number;
  offset: number;
  length: number;
  /** READ: the buffer the data goes to, and how many of its bytes replies have covered. */
  into?: Buffer;
  covered: number;
  extents?: Extent[];
  error?: NbdError;
}

/** Largest reply chunk that is not READ data (block status of many extents, errors). */
const MAX_METADATA_CHUNK = 64 << 20;

/** Largest reply chunk accepted with extended headers (a 32-bit payload and its header). */
const MAX_CHUNK = 2 ** 32 + 64;

const NAMES = Object.fromEntries(Object.entries(NbdErrno).map(([k, v]) => [v, k])) as Record<
  number,
  NbdErrnoName
>;

/** A reply that breaks the protocol: the connection is closed, every request fails. */
function violation(message: string): ProtocolError {
  return new ProtocolError(`the server broke the NBD protocol: ${message}`);
}

function replyError(errno: number, message: string): NbdError {
  return new NbdError(NAMES[errno] ?? 'EIO', message || `server error ${errno}`);
}

/** Parses nbd://host:port/export and nbd+unix:///export?socket=PATH. */
export function parseNbdUri(uri: string): ConnectOptions {
  const url = new URL(uri);
  const exportName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (url.protocol === 'nbd+unix:') {
    const socket = url.searchParams.get('socket');
    if (!socket) throw new ProtocolError(`${uri}: nbd+unix URI without ?socket=`);
    return { socket, exportName };
  }
  if (url.protocol === 'nbd:') {
    return { host: url.hostname || 'localhost', port: Number(url.port || 10809), exportName };
  }
  throw new ProtocolError(`${uri}: only nbd:// and nbd+unix:// URIs are supported`);
}

export class NbdClient {
  private readonly pending = new Map<bigint, Pending>();
  private nextCookie = 1n;
  private closed: Error | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  details!: ExportDetails;

  private constructor(
    private readonly socket: net.Socket,
    private readonly reader: StreamReader,
  ) {}

  static async connect(options: ConnectOptions): Promise<NbdClient> {
    const socket = options.socket
      ? net.connect(options.socket)
      : net.connect(options.port ?? 10809, options.host ?? 'localhost');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new NbdClient(socket, new StreamReader(socket));
    try {
      const structured = options.structuredReplies ?? true;
      await client.handshake(options.exportName ?? '', {
        blockStatus: options.blockStatus ?? true,
        structured,
        extended: options.extendedHeaders ?? structured,
      });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    void client.receiveLoop();
    return client;
  }

  private sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    const header = Buffer.allocUnsafe(16);
    header.writeBigUInt64BE(IHAVEOPT, 0);
    header.writeUInt32BE(option, 8);
    header.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([header, data]));
  }

  private async optionReply(option: number): Promise<{ type: number; data: Buffer }> {
    const header = await this.reader.read(20);
    if (header.readBigUInt64BE(0) !== OPT_REPLY_MAGIC || header.readUInt32BE(8) !== option) {
      throw new ProtocolError('bad option reply');
    }
    const data = await this.reader.read(header.readUInt32BE(16));
    return { type: header.readUInt32BE(12), data };
  }

  private async handshake(
    exportName: string,
    want: { blockStatus: boolean; structured: boolean; extended: boolean },
  ): Promise<void> {
    const greeting = await this.reader.read(18);
    if (greeting.readBigUInt64BE(0) !== NBDMAGIC || greeting.readBigUInt64BE(8) !== IHAVEOPT) {
      throw new ProtocolError('not a fixed newstyle NBD server');
    }
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(greeting.readUInt16BE(16) & 3);
    this.socket.write(flags);

    let extended = false;
    if (want.extended) {
      this.sendOption(Opt.EXTENDED_HEADERS);
      extended = (await this.optionReply(Opt.EXTENDED_HEADERS)).type === Rep.ACK;
    }
    let structured = extended;
    if (want.structured && !extended) {
      this.sendOption(Opt.STRUCTURED_REPLY);
      structured = (await this.optionReply(Opt.STRUCTURED_REPLY)).type === Rep.ACK;
    }
    let baseAllocation = false;
    const name = Buffer.from(exportName);
    if (structured && want.blockStatus) {
      const query = Buffer.from(BASE_ALLOCATION);
      const data = Buffer.alloc(4 + name.length + 4 + 4 + query.length);
      data.writeUInt32BE(name.length, 0);
      name.copy(data, 4);
      data.writeUInt32BE(1, 4 + name.length);
      data.writeUInt32BE(query.length, 8 + name.length);
      query.copy(data, 12 + name.length);
      this.sendOption(Opt.SET_META_CONTEXT, data);
      for (;;) {
        const r = await this.optionReply(Opt.SET_META_CONTEXT);
        if (r.type === Rep.META_CONTEXT) baseAllocation = true;
        else break;
      }
    }
    const go = Buffer.alloc(4 + name.length + 2 + 2);
    go.writeUInt32BE(name.length, 0);
    name.copy(go, 4);
    go.writeUInt16BE(1, 4 + name.length);
    go.writeUInt16BE(Info.BLOCK_SIZE, 6 + name.length);
    this.sendOption(Opt.GO, go);
    const details: ExportDetails = {
      size: 0,
      flags: 0,
      blockSize: { minimum: 1, preferred: 4096, maximum: 32 << 20 },
      structured,
      extended,
      baseAllocation,
    };
    for (;;) {
      const r = await this.optionReply(Opt.GO);
      if (r.type === Rep.ACK) break;
      if (r.type !== Rep.INFO) {
        throw new NbdError('EINVAL', `server refused export "${exportName}": ${r.data.toString()}`);
      }
      const kind = r.data.readUInt16BE(0);
      if (kind === Info.EXPORT) {
        details.size = readU64(r.data, 2);
        details.flags = r.data.readUInt16BE(10);
      } else if (kind === Info.BLOCK_SIZE) {
        details.blockSize = {
          minimum: r.data.readUInt32BE(2),
          preferred: r.data.readUInt32BE(6),
          maximum: r.data.readUInt32BE(10),
        };
      }
    }
    this.details = details;
  }

  get size(): number {
    return this.details.size;
  }
  get readonly(): boolean {
    return (this.details.flags & TFlag.READ_ONLY) !== 0;
  }
  get canMultiConn(): boolean {
    return (this.details.flags & TFlag.CAN_MULTI_CONN) !== 0;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.details.extended) {
          await this.receiveExtended();
          continue;
        }
        const magicBuf = await this.reader.read(4);
        const magic = magicBuf.readUInt32BE(0);
        if (magic === SIMPLE_REPLY_MAGIC) {
          const rest = await this.reader.read(12);
          const errno = rest.readUInt32BE(0);
          const cookie = rest.readBigUInt64BE(4);
          const p = this.take(cookie);
          if (errno) p.reject(replyError(errno, ''));
          else if (p.into) {
            (await this.reader.read(p.into.length)).copy(p.into);
            p.resolve(p.into);
          } else if (p.type === Cmd.BLOCK_STATUS) {
            throw this.broken(p, 'a simple reply to BLOCK_STATUS carries no extents');
          } else p.resolve(undefined);
        } else if (magic === STRUCTURED_REPLY_MAGIC) {
          const rest = await this.reader.read(16);
          const flags = rest.readUInt16BE(0);
          const type = rest.readUInt16BE(2);
          const cookie = rest.readBigUInt64BE(4);
          const length = rest.readUInt32BE(12);
          this.checkChunkLength(cookie, type, length);
          this.chunkReceived(flags, type, cookie, await this.reader.read(length));
        } else throw violation(`bad reply magic 0x${magic.toString(16)}`);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** One reply chunk with extended headers: every reply has this 32-byte header. */
  private async receiveExtended(): Promise<void> {
    const header = await this.reader.read(32);
    const magic = header.readUInt32BE(0);
    if (magic !== EXTENDED_REPLY_MAGIC) {
      throw violation(`bad reply magic 0x${magic.toString(16)} with extended headers`);
    }
    const length = readU64(header, 24);
    if (length < 0 || length > MAX_CHUNK) {
      throw violation(`reply chunk of ${header.readBigUInt64BE(24)} bytes`);
    }
    const cookie = header.readBigUInt64BE(8);
    this.checkChunkLength(cookie, header.readUInt16BE(6), length);
    const body = await this.reader.read(length);
    this.chunkReceived(header.readUInt16BE(4), header.readUInt16BE(6), cookie, body);
  }

  /** Refuses, before reading it, a chunk larger than its request could need. */
  private checkChunkLength(cookie: bigint, type: number, length: number): void {
    const p = this.pending.get(cookie);
    if (!p) throw violation(`reply for unknown cookie ${cookie}`);
    const limit = type === ReplyType.OFFSET_DATA ? 8 + p.length : MAX_METADATA_CHUNK;
    if (length > limit) {
      throw violation(`reply chunk of ${length} bytes for a request of ${p.length}`);
    }
  }

  private chunkReceived(flags: number, type: number, cookie: bigint, body: Buffer): void {
    const p = this.pending.get(cookie);
    if (!p) throw violation(`reply for unknown cookie ${cookie}`);
    this.chunk(p, type, body);
    if (flags & ReplyFlag.DONE) {
      this.take(cookie);
      if (p.error) p.reject(p.error);
      else if (p.into && p.covered !== p.length) {
        throw this.broken(p, `READ reply covered ${p.covered} of ${p.length} bytes`);
      } else if (p.type === Cmd.BLOCK_STATUS && !p.extents) {
        throw this.broken(p, 'BLOCK_STATUS reply without extents');
      } else p.resolve(p.into ?? p.extents);
    }
  }

  private chunk(p: Pending, type: number, body: Buffer): void {
    const want = (size: number) => {
      if (body.length < size) throw violation(`reply chunk type ${type} too short`);
    };
    switch (type) {
      case ReplyType.NONE:
        return;
      case ReplyType.OFFSET_DATA: {
        want(8);
        this.readChunk(p, readU64(body, 0), body.length - 8).set(body.subarray(8));
        return;
      }
      case ReplyType.OFFSET_HOLE: {
        want(12);
        this.readChunk(p, readU64(body, 0), body.readUInt32BE(8)).fill(0);
        return;
      }
      case ReplyType.BLOCK_STATUS:
      case ReplyType.BLOCK_STATUS_EXT: {
        const extended = type === ReplyType.BLOCK_STATUS_EXT;
        const [start, size] = extended ? [8, 16] : [4, 8];
        if (p.type !== Cmd.BLOCK_STATUS || p.extents) {
          throw violation('unexpected block status chunk');
        }
        if (body.length <= start || (body.length - start) % size !== 0) {
          throw violation(`block status chunk of ${body.length} bytes`);
        }
        const extents: Extent[] = [];
        let at = p.offset;
        for (let i = start; i < body.length; i += size) {
          const length = extended ? readU64(body, i) : body.readUInt32BE(i);
          // base:allocation status fits in 32 bits; the high half of a 64-bit one is zero.
          const status = body.readUInt32BE(i + size - 4);
          if (length <= 0) throw violation(`zero-length extent at offset ${at}`);
          if (at >= p.offset + p.length) {
            throw violation(`extent at offset ${at}, past the request`);
          }
          if (at + length > this.details.size) {
            throw violation(`extent at offset ${at} of ${length} bytes passes the end`);
          }
          extents.push({ offset: at, length, type: status });
          at += length;
        }
        p.extents = extents;
        return;
      }
      case ReplyType.ERROR:
      case ReplyType.ERROR_OFFSET: {
        want(6);
        const len = body.readUInt16BE(4);
        p.error ??= replyError(body.readUInt32BE(0), body.toString('utf8', 6, 6 + len));
        return;
      }
      default:
        if (!(type & 0x8000)) throw violation(`unknown reply chunk type ${type}`);
        want(4);
        p.error ??= replyError(body.readUInt32BE(0), 'unknown error chunk');
    }
  }

  /** The part of a READ's buffer that a data or hole chunk fills; it must lie in the request. */
  private readChunk(p: Pending, offset: number, length: number): Buffer {
    if (!p.into) throw violation('a data chunk in reply to a request other than READ');
    const at = offset - p.offset;
    if (offset < 0 || at < 0 || at + length > p.length) {
      throw violation(
        `chunk of ${length} bytes at offset ${offset}, outside the request (${p.offset}+${p.length})`,
      );
    }
    p.covered += length;
    return p.into.subarray(at, at + length);
  }

  /** A protocol error about a reply already taken from `pending`: its request fails too. */
  private broken(p: Pending, message: string): ProtocolError {
    const err = violation(message);
    p.reject(err);
    return err;
  }

  private take(cookie: bigint): Pending {
    const p = this.pending.get(cookie);
    if (!p) throw violation(`reply for unknown cookie ${cookie}`);
    this.pending.delete(cookie);
    return p;
  }

  private fail(err: Error): void {
    this.closed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket.destroy();
  }

  /** Sends any request, unchecked (tests use this to send bad ones). */
  request(
    type: number,
    offset: number,
    length: number,
    flags = 0,
    payload?: Buffer,
    into?: Buffer,
  ): Promise<Buffer | Extent[] | undefined> {
    if (this.closed) return Promise.reject(this.closed);
    const extended = this.details.extended;
    if (!extended && length > 0xffffffff) {
      const message = `a request of ${length} bytes needs extended headers (max 4 GiB - 1)`;
      return Promise.reject(new NbdError('EINVAL', message));
    }
    const cookie = this.nextCookie++;
    const header = this.requestHeader(
      type,
      extended && payload ? flags | CmdFlag.PAYLOAD_LEN : flags,
      cookie,
      offset,
      length,
    );
    const reply = new Promise<Buffer | Extent[] | undefined>((resolve, reject) => {
      this.pending.set(cookie, {
        resolve,
        reject,
        type,
        offset,
        length,
        covered: 0,
        ...(into ? { into } : {}),
      });
      if (payload) {
        this.socket.cork();
        this.socket.write(header);
        this.socket.write(payload);
        this.socket.uncork();
      } else this.socket.write(header);
    });
    this.inFlight.add(reply);
    const forget = () => this.inFlight.delete(reply);
    reply.then(forget, forget);
    return reply;
  }

  /** A compact (28-byte) or, with extended headers, extended (32-byte) request header. */
  private requestHeader(
    type: number,
    flags: number,
    cookie: bigint,
    offset: number,
    length: number,
  ): Buffer {
    const extended = this.details.extended;
    const header = Buffer.allocUnsafe(extended ? 32 : 28);
    header.writeUInt32BE(extended ? EXTENDED_REQUEST_MAGIC : REQUEST_MAGIC, 0);
    header.writeUInt16BE(flags, 4);
    header.writeUInt16BE(type, 6);
    header.writeBigUInt64BE(cookie, 8);
    writeU64(header, offset, 16);
    if (extended) writeU64(header, length, 24);
    else header.writeUInt32BE(length, 24);
    return header;
  }

  async pread(buf: Buffer, offset: number): Promise<void> {
    await this.request(Cmd.READ, offset, buf.length, 0, undefined, buf);
  }
  async pwrite(buf: Buffer, offset: number, fua = false): Promise<void> {
    await this.request(Cmd.WRITE, offset, buf.length, fua ? CmdFlag.FUA : 0, buf);
  }
  async flush(): Promise<void> {
    await this.request(Cmd.FLUSH, 0, 0);
  }
  async trim(count: number, offset: number): Promise<void> {
    await this.request(Cmd.TRIM, offset, count);
  }
  async zero(
    count: number,
    offset: number,
    options: { noHole?: boolean; fast?: boolean } = {},
  ): Promise<void> {
    const flags = (options.noHole ? CmdFlag.NO_HOLE : 0) | (options.fast ? CmdFlag.FAST_ZERO : 0);
    await this.request(Cmd.WRITE_ZEROES, offset, count, flags);
  }
  async cache(count: number, offset: number): Promise<void> {
    await this.request(Cmd.CACHE, offset, count);
  }
  async blockStatus(count: number, offset: number, reqOne = false): Promise<Extent[]> {
    const r = await this.request(Cmd.BLOCK_STATUS, offset, count, reqOne ? CmdFlag.REQ_ONE : 0);
    return (r as Extent[] | undefined) ?? [];
  }

  /** Sends NBD_CMD_DISC after outstanding requests have been answered, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.inFlight]);
    const header = this.requestHeader(Cmd.DISC, 0, 0n, 0, 0);
    this.closed = new ProtocolError('client closed');
    await new Promise<void>((resolve) => this.socket.end(header, resolve));
    this.socket.destroy();
  }
}
