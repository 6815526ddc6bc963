// One client connection: fixed newstyle option haggling, then transmission with many
// requests in flight and replies sent as each finishes.
import type { Duplex, Readable, Writable } from 'node:stream';
import { TLSSocket, type TLSSocketOptions } from 'node:tls';
import type { BlockSize } from '../api.js';
import { normalizeExtents } from '../extents.js';
import { NbdError, errnoOf, messageOf } from '../errors.js';
import {
  BASE_ALLOCATION,
  CLIENT_FLAG_FIXED_NEWSTYLE,
  CLIENT_FLAG_NO_ZEROES,
  Cmd,
  CmdFlag,
  EXTENDED_REQUEST_MAGIC,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  Info,
  NBDMAGIC,
  NbdErrno,
  OPT_REPLY_MAGIC,
  Opt,
  REQUEST_MAGIC,
  Rep,
  TFlag,
} from '../protocol/constants.js';
import { BufferPool } from '../protocol/buffer-pool.js';
import { ByteBudget } from './byte-budget.js';
import { DEFAULT_BUSY_POLL_US, PollWindow } from './busy-poll.js';
import { StreamReader, type Inspection } from '../protocol/reader.js';
import { CONTEXT_ID_BASE_ALLOCATION, ReplyWriter } from './replies.js';
import { Parser, readU64, writeU64 } from '../protocol/wire.js';
import type { OpenLayer, Stack } from './stack.js';

export type TlsMode = 'off' | 'on' | 'require';

export interface ConnectionOptions {
  stack: Stack;
  /** Serve every export read-only (-r). */
  readonly: boolean;
  tls: TlsMode;
  /** Options for the server side of STARTTLS (certificates or PSK). */
  tlsOptions?: TLSSocketOptions;
  /** Fail a request with EIO if the plugin has not answered in this many ms (0: never). */
  requestTimeoutMs: number;
  /** Give up on a client that has not finished the handshake in this many ms. */
  handshakeTimeoutMs: number;
  /** Largest READ/WRITE payload when the plugin states no maximum. */
  maxPayload: number;
  /** Requests served at once (default 64). */
  maxInFlight?: number;
  /** Longest busy poll while waiting for a request, in µs (busy-poll.ts; default 128, 0 off). */
  busyPollMicroseconds?: number;
  /** Offer structured replies and extended headers (default true; --no-sr turns it off). */
  structuredReplies?: boolean;
  /** Advertise multi-conn when the plugin allows it (default true; --no-mc). */
  multiConn?: boolean;
  log?: (message: string) => void;
}

/** Where a connection reads and writes: one socket, or stdin and stdout. */
export interface Channel {
  input: Readable;
  output: Writable;
  /** Set when input and output are one duplex stream that STARTTLS can wrap. */
  duplex?: Duplex;
}

const MAX_OPTION_LENGTH = 1 << 20;
const MAX_OPTIONS = 256;
const MAX_STRING = 4096;
const MAX_IN_FLIGHT = 64;
const MAX_QUEUED_OUTPUT = 32 << 20;
/**
 * Bytes of READ data a connection holds at once (being read from the plugin, or waiting for
 * the socket); a client that does not read its replies stops getting reads issued.
 */
const MAX_REPLY_BYTES = 16 << 20;
/** With chunked replies (and no DF) a larger READ is read and sent in chunks of this size. */
const READ_PIECE = 4 << 20;
/** Bytes of WRITE payloads a connection holds while the plugin writes them. */
const MAX_PAYLOAD_BYTES = 32 << 20;
/** The largest payload any block size constraint (32 bits) allows. */
const MAX_PAYLOAD_LENGTH = 0xffffffff;

interface ExportState {
  layer: OpenLayer;
  size: number;
  flags: number;
  blockSize: BlockSize;
}

class CloseConnection extends Error {}

export class Connection {
  private reader: StreamReader;
  private output: Writable;
  private replies: ReplyWriter;
  private metaBaseAllocation = false;
  private isTls = false;
  private export: ExportState | undefined;
  /** Requests being served; `slotWaiter` is woken each time one finishes. */
  private inFlight = 0;
  private slotWaiter: (() => void) | undefined;
  /** Plugin calls of WRITE, WRITE_ZEROES and TRIM not yet finished (FLUSH waits for them). */
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly pool = new BufferPool();
  private readonly pollWindow: PollWindow;
  private readonly replyBudget = new ByteBudget(MAX_REPLY_BYTES);
  private readonly payloadBudget = new ByteBudget(MAX_PAYLOAD_BYTES);
  private readonly allocate = (n: number) => this.pool.get(n);

  constructor(
    private channel: Channel,
    private readonly options: ConnectionOptions,
  ) {
    this.reader = new StreamReader(channel.input);
    this.output = channel.output;
    this.replies = new ReplyWriter(this.output, this.pool);
    this.pollWindow = new PollWindow(options.busyPollMicroseconds ?? DEFAULT_BUSY_POLL_US);
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  /** Runs the connection to its end; never rejects. */
  async run(): Promise<void> {
    try {
      const ok = await this.handshake();
      if (ok) await this.transmission();
    } catch (err) {
      if (!(err instanceof CloseConnection)) this.log(`connection closed: ${messageOf(err)}`);
    } finally {
      // Requests waiting for room will find the connection dead and give up.
      this.replyBudget.close();
      this.payloadBudget.close();
      await this.waitForSlot(0);
      if (this.export) await this.export.layer.close().catch(() => undefined);
      this.channel.output.end();
    }
  }

  private get dead(): boolean {
    return this.output.destroyed || this.output.writableEnded;
  }

  // ---- Handshake ----------------------------------------------------------------------

  private async handshake(): Promise<boolean> {
    const timer = setTimeout(() => {
      this.log('handshake timed out');
      this.channel.input.destroy();
      this.channel.output.destroy();
    }, this.options.handshakeTimeoutMs);
    try {
      return await this.haggle();
    } finally {
      clearTimeout(timer);
    }
  }

  private async haggle(): Promise<boolean> {
    const greeting = Buffer.alloc(18);
    greeting.writeBigUInt64BE(NBDMAGIC, 0);
    greeting.writeBigUInt64BE(IHAVEOPT, 8);
    greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
    this.output.write(greeting);
    const clientFlags = (await this.reader.read(4)).readUInt32BE(0);
    if (clientFlags & ~(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES)) {
      throw new CloseConnection(`unknown client flags 0x${clientFlags.toString(16)}`);
    }
    const noZeroes = (clientFlags & CLIENT_FLAG_NO_ZEROES) !== 0;

    for (let count = 0; count < MAX_OPTIONS; count++) {
      const header = await this.reader.read(16);
      if (header.readBigUInt64BE(0) !== IHAVEOPT) throw new CloseConnection('bad option magic');
      const option = header.readUInt32BE(8);
      const length = header.readUInt32BE(12);
      if (length > MAX_OPTION_LENGTH) throw new CloseConnection(`option of ${length} bytes`);
      const data = await this.reader.read(length);

      if (this.options.tls === 'require' && !this.isTls && option !== Opt.STARTTLS) {
        if (option === Opt.EXPORT_NAME) throw new CloseConnection('TLS required');
        if (option === Opt.ABORT) return this.abort(option);
        this.optReply(option, Rep.ERR_TLS_REQD, 'TLS is required: use STARTTLS');
        continue;
      }
      switch (option) {
        case Opt.EXPORT_NAME: {
          // The spec forbids it: its reply has no room to say how replies will look.
          if (this.replies.mode === 'extended') {
            throw new CloseConnection('EXPORT_NAME after extended headers were negotiated');
          }
          const state = await this.openExport(data.toString('utf8'));
          if (!state) throw new CloseConnection('EXPORT_NAME of an unknown export');
          const reply = Buffer.alloc(noZeroes ? 10 : 134);
          writeU64(reply, state.size, 0);
          reply.writeUInt16BE(state.flags, 8);
          this.output.write(reply);
          this.export = state;
          return true;
        }
        case Opt.ABORT:
          return this.abort(option);
        case Opt.LIST:
          await this.optList(data);
          break;
        case Opt.STARTTLS:
          await this.startTls(data);
          break;
        case Opt.INFO:
        case Opt.GO:
          if (await this.optInfo(option, data)) return true;
          break;
        case Opt.STRUCTURED_REPLY:
        case Opt.EXTENDED_HEADERS:
          if (this.options.structuredReplies === false) {
            this.optReply(option, Rep.ERR_UNSUP, 'structured replies are turned off (--no-sr)');
          } else this.optReplyMode(option, data);
          break;
        case Opt.LIST_META_CONTEXT:
        case Opt.SET_META_CONTEXT:
          this.optMetaContext(option, data);
          break;
        default:
          this.optReply(option, Rep.ERR_UNSUP, `option ${option} is not supported`);
      }
    }
    throw new CloseConnection('too many options');
  }

  /** STRUCTURED_REPLY or EXTENDED_HEADERS; extended headers take precedence (spec). */
  private optReplyMode(option: number, data: Buffer): void {
    const mode = option === Opt.EXTENDED_HEADERS ? 'extended' : 'structured';
    if (data.length !== 0) this.optReply(option, Rep.ERR_INVALID, 'unexpected payload');
    else if (this.replies.mode === mode) this.optReply(option, Rep.ERR_INVALID, 'already on');
    else if (this.replies.mode === 'extended') {
      this.optReply(option, Rep.ERR_EXT_HEADER_REQD, 'extended headers are already on');
    } else {
      this.replies.mode = mode;
      this.optReply(option, Rep.ACK);
    }
  }

  private abort(option: number): boolean {
    this.optReply(option, Rep.ACK);
    return false;
  }

  private optReply(option: number, type: number, payload?: Buffer | string): void {
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const header = Buffer.allocUnsafe(20);
    header.writeBigUInt64BE(OPT_REPLY_MAGIC, 0);
    header.writeUInt32BE(option, 8);
    header.writeUInt32BE(type >>> 0, 12);
    header.writeUInt32BE(body?.length ?? 0, 16);
    this.output.write(body ? Buffer.concat([header, body]) : header);
  }

  private async optList(data: Buffer): Promise<void> {
    if (data.length !== 0) {
      this.optReply(Opt.LIST, Rep.ERR_INVALID, 'LIST takes no payload');
      return;
    }
    let exports;
    try {
      exports = await this.options.stack.listExports(this.options.readonly, this.isTls);
    } catch (err) {
      this.optReply(Opt.LIST, Rep.ERR_PLATFORM, messageOf(err));
      return;
    }
    for (const e of exports) {
      const name = Buffer.from(e.name);
      const description = Buffer.from(e.description ?? '');
      const body = Buffer.allocUnsafe(4 + name.length + description.length);
      body.writeUInt32BE(name.length, 0);
      name.copy(body, 4);
      description.copy(body, 4 + name.length);
      this.optReply(Opt.LIST, Rep.SERVER, body);
    }
    this.optReply(Opt.LIST, Rep.ACK);
  }

  private async startTls(data: Buffer): Promise<void> {
    if (data.length !== 0) {
      this.optReply(Opt.STARTTLS, Rep.ERR_INVALID, 'STARTTLS takes no payload');
      return;
    }
    if (this.options.tls === 'off' || !this.options.tlsOptions || !this.channel.duplex) {
      this.optReply(Opt.STARTTLS, Rep.ERR_POLICY, 'TLS is not enabled on this server');
      return;
    }
    if (this.isTls) {
      this.optReply(Opt.STARTTLS, Rep.ERR_INVALID, 'TLS is already on');
      return;
    }
    this.optReply(Opt.STARTTLS, Rep.ACK);
    this.reader.detach();
    const secure = new TLSSocket(this.channel.duplex, {
      ...this.options.tlsOptions,
      isServer: true,
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('error', reject);
      secure.once('close', () => reject(new CloseConnection('closed during TLS handshake')));
    });
    this.channel = { input: secure, output: secure, duplex: secure };
    this.reader = new StreamReader(secure);
    this.output = secure;
    this.isTls = true;
    // Structured replies or extended headers negotiated in clear text do not carry over (spec).
    this.replies = new ReplyWriter(secure, this.pool);
    this.metaBaseAllocation = false;
  }

  /** INFO and GO. Returns true when GO succeeded and transmission starts. */
  private async optInfo(option: number, data: Buffer): Promise<boolean> {
    const p = new Parser(data);
    const name = p.string();
    const count = p.u16();
    const requests: number[] = [];
    for (let i = 0; count !== undefined && i < count; i++) {
      const r = p.u16();
      if (r === undefined) break;
      requests.push(r);
    }
    if (name === undefined || count === undefined || requests.length !== count || p.remaining) {
      this.optReply(option, Rep.ERR_INVALID, 'malformed INFO/GO request');
      return false;
    }
    if (Buffer.byteLength(name) > MAX_STRING) {
      this.optReply(option, Rep.ERR_TOO_BIG, 'export name too long');
      return false;
    }
    let state: ExportState | undefined;
    try {
      state = await this.openExport(name);
    } catch (err) {
      this.log(`export "${name}" could not be opened: ${messageOf(err)}`);
      this.optReply(option, Rep.ERR_UNKNOWN, messageOf(err));
      return false;
    }
    if (!state) {
      this.optReply(option, Rep.ERR_UNKNOWN, `no export named "${name}"`);
      return false;
    }
    const info = Buffer.alloc(12);
    info.writeUInt16BE(Info.EXPORT, 0);
    writeU64(info, state.size, 2);
    info.writeUInt16BE(state.flags, 10);
    this.optReply(option, Rep.INFO, info);
    for (const r of new Set(requests)) {
      if (r === Info.NAME) {
        this.optReply(option, Rep.INFO, Buffer.concat([u16(Info.NAME), Buffer.from(name)]));
      } else if (r === Info.DESCRIPTION) {
        const description = await state.layer.exportDescription().catch(() => undefined);
        if (description !== undefined) {
          const body = Buffer.concat([u16(Info.DESCRIPTION), Buffer.from(description)]);
          this.optReply(option, Rep.INFO, body);
        }
      } else if (r === Info.BLOCK_SIZE) {
        const body = Buffer.allocUnsafe(14);
        body.writeUInt16BE(Info.BLOCK_SIZE, 0);
        body.writeUInt32BE(state.blockSize.minimum, 2);
        body.writeUInt32BE(state.blockSize.preferred, 6);
        body.writeUInt32BE(state.blockSize.maximum, 10);
        this.optReply(option, Rep.INFO, body);
      }
    }
    this.optReply(option, Rep.ACK);
    if (option === Opt.GO) {
      this.export = state;
      return true;
    }
    await state.layer.close().catch(() => undefined);
    return false;
  }

  private optMetaContext(option: number, data: Buffer): void {
    const p = new Parser(data);
    const exportName = p.string();
    const count = p.u32();
    const queries: string[] = [];
    for (let i = 0; count !== undefined && i < count; i++) {
      const q = p.string();
      if (q === undefined) break;
      queries.push(q);
    }
    if (
      exportName === undefined ||
      count === undefined ||
      queries.length !== count ||
      p.remaining
    ) {
      this.optReply(option, Rep.ERR_INVALID, 'malformed meta context request');
      return;
    }
    if (option === Opt.SET_META_CONTEXT) {
      if (!this.replies.chunked) {
        this.optReply(option, Rep.ERR_INVALID, 'SET_META_CONTEXT needs structured replies');
        return;
      }
      this.metaBaseAllocation = queries.includes(BASE_ALLOCATION);
      if (this.metaBaseAllocation) this.metaContextReply(option, CONTEXT_ID_BASE_ALLOCATION);
    } else {
      const listAll = queries.length === 0;
      if (listAll || queries.some((q) => q === BASE_ALLOCATION || q === 'base:')) {
        this.metaContextReply(option, 0);
      }
    }
    this.optReply(option, Rep.ACK);
  }

  private metaContextReply(option: number, id: number): void {
    const body = Buffer.allocUnsafe(4 + BASE_ALLOCATION.length);
    body.writeUInt32BE(id, 0);
    body.write(BASE_ALLOCATION, 4);
    this.optReply(option, Rep.META_CONTEXT, body);
  }

  /** Opens the stack for `name`; undefined when the plugin has no such export. */
  private async openExport(name: string): Promise<ExportState | undefined> {
    const layer = await this.options.stack.open(this.options.readonly, name, this.isTls);
    try {
      const size = await layer.getSize();
      const writable = !this.options.readonly && (await layer.canWrite());
      let flags = TFlag.HAS_FLAGS;
      if (!writable) flags |= TFlag.READ_ONLY;
      if (await layer.canFlush()) flags |= TFlag.SEND_FLUSH;
      if (writable && (await layer.canFua()) !== 'none') flags |= TFlag.SEND_FUA;
      if (await layer.isRotational()) flags |= TFlag.ROTATIONAL;
      if (writable && (await layer.canTrim())) flags |= TFlag.SEND_TRIM;
      if (writable && (await layer.canZero())) {
        flags |= TFlag.SEND_WRITE_ZEROES;
        if (await layer.canFastZero()) flags |= TFlag.SEND_FAST_ZERO;
      }
      if (this.replies.chunked) flags |= TFlag.SEND_DF;
      if (this.options.multiConn !== false && (await layer.canMultiConn())) {
        flags |= TFlag.CAN_MULTI_CONN;
      }
      if ((await layer.canCache()) !== 'none') flags |= TFlag.SEND_CACHE;
      const declared = await layer.blockSize();
      const blockSize = declared ?? {
        minimum: 1,
        preferred: 4096,
        maximum: this.options.maxPayload,
      };
      return { layer, size, flags, blockSize };
    } catch (err) {
      await layer.close().catch(() => undefined);
      throw err;
    }
  }

  // ---- Transmission -------------------------------------------------------------------

  private async transmission(): Promise<void> {
    const state = this.export!;
    const extended = this.replies.mode === 'extended';
    const headerLength = extended ? 32 : 28;
    // A header that has not all arrived has its magic checked as soon as that is in, so a
    // client that sent the wrong kind (28 bytes where 32 are due) is closed on, not waited for.
    const magicCheck: Inspection = {
      length: 4,
      check: (start) => checkRequestMagic(start, extended),
    };
    // The serializing thread models serve one request of the connection at a time, and
    // 'serializeAllRequests' one of the whole stack (under its lock).
    const model = this.options.stack.threadModel;
    const lockStack = model === 'serializeAllRequests';
    const most = model.startsWith('serialize') ? 1 : (this.options.maxInFlight ?? MAX_IN_FLIGHT);
    for (;;) {
      let header = this.reader.tryRead(headerLength);
      if (!header) {
        this.pollWindow.waiting(this.output.writableLength === 0);
        header = await this.reader.readChecked(headerLength, magicCheck);
        this.pollWindow.arrived();
      }
      checkRequestMagic(header, extended);
      const flags = header.readUInt16BE(4);
      const type = header.readUInt16BE(6);
      // Cookie and offset, echoed in replies; a copy, so that a request in flight does not
      // hold on to the input buffer its header was read into.
      const id = Buffer.from(header.subarray(8, 24));
      const offset = readU64(header, 16);
      // Extended lengths are 64 bits; one past 2^53 is longer than any export anyway.
      const rawLength = extended ? readU64(header, 24) : header.readUInt32BE(24);
      const length = rawLength < 0 ? Number.POSITIVE_INFINITY : rawLength;

      let payload: Buffer | undefined;
      const hasPayload = extended ? (flags & CmdFlag.PAYLOAD_LEN) !== 0 : type === Cmd.WRITE;
      if (hasPayload) {
        if (length > MAX_PAYLOAD_LENGTH) {
          // No block size allows it (spec: SHOULD disconnect); skipping it would take ages.
          throw new CloseConnection(`request payload of ${length} bytes`);
        }
        const refusal =
          type !== Cmd.WRITE
            ? `command ${type} takes no payload`
            : length > state.blockSize.maximum || length > this.options.maxPayload
              ? 'write larger than the maximum block size'
              : undefined;
        if (refusal) {
          // Drop it as it streams past and refuse the request.
          await this.reader.skip(length);
          this.replies.replyError(id, false, NbdErrno.EINVAL, refusal);
          continue;
        }
        // Stop reading requests while the plugin has too much to write (the payload's room
        // is given back once the plugin is done with it).
        await this.payloadBudget.acquire(length);
        payload =
          this.reader.tryRead(length, this.allocate) ??
          (await this.reader.read(length, this.allocate));
      } else if (type === Cmd.DISC) {
        this.log('client disconnected (NBD_CMD_DISC)');
        return;
      }

      // serve() never rejects and does its own bookkeeping: no promise chained per request.
      this.inFlight++;
      const serve = () => this.serve(state, type, flags, id, offset, length, payload);
      void (lockStack ? this.options.stack.requestLock.run(serve) : serve());
      if (this.inFlight >= most) await this.waitForSlot(most - 1);
      if (this.output.writableLength > MAX_QUEUED_OUTPUT && !this.dead) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.output.off('drain', done);
            this.output.off('close', done);
            resolve();
          };
          this.output.on('drain', done);
          this.output.on('close', done);
        });
      }
    }
  }

  /** Waits until at most `count` requests are in flight. */
  private async waitForSlot(count: number): Promise<void> {
    while (this.inFlight > count) {
      await new Promise<void>((resolve) => (this.slotWaiter = resolve));
    }
  }

  private requestFinished(): void {
    this.inFlight--;
    const wake = this.slotWaiter;
    this.slotWaiter = undefined;
    wake?.();
  }

  /**
   * Reads within the connection's reply budget. With chunked replies and no DF, a large
   * read goes out as several OFFSET_DATA chunks, each read from the plugin only when there
   * is room; otherwise it is one reply (so one maximum-size read may exceed the budget).
   */
  private async serveRead(
    layer: OpenLayer,
    id: Buffer,
    offset: number,
    length: number,
    dontFragment: boolean,
  ): Promise<void> {
    const piece = this.replies.chunked && !dontFragment ? READ_PIECE : length;
    for (let done = 0; done < length; done += piece) {
      const n = Math.min(piece, length - done);
      if (!this.replyBudget.tryAcquire(n)) await this.replyBudget.acquire(n);
      if (this.dead) {
        this.replyBudget.release(n);
        return;
      }
      const buf = this.replies.readBuffer(n);
      try {
        // A plugin that answers at once is not waited for (no promise, no timer).
        // On failure buf is dropped, not pooled: a timed-out plugin may still fill it.
        const reading = layer.readNow(buf, offset + done);
        if (reading) await this.withTimeout(reading);
      } catch (err) {
        this.replyBudget.release(n);
        throw err; // an ERROR chunk ends the reply, after any chunks already sent
      }
      const last = done + n >= length;
      this.replies.replyRead(id, offset + done, buf, last, () => this.replyBudget.release(n));
    }
  }

  /** Runs a write-like plugin call so that a later FLUSH waits for it. */
  private async writing(work: Promise<void>): Promise<void> {
    this.pendingWrites.add(work);
    try {
      await work;
    } finally {
      this.pendingWrites.delete(work);
    }
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    const ms = this.options.requestTimeoutMs;
    if (ms <= 0) return work;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new NbdError('EIO', `the plugin did not answer within ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Checks a request against the export; returns an errno and message or undefined. */
  private check(
    state: ExportState,
    type: number,
    flags: number,
    offset: number,
    length: number,
  ): [number, string] | undefined {
    const extended = this.replies.mode === 'extended';
    const allowed =
      CmdFlag.FUA |
      (type === Cmd.WRITE_ZEROES ? CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO : 0) |
      (type === Cmd.READ && this.replies.chunked ? CmdFlag.DF : 0) |
      (type === Cmd.WRITE && extended ? CmdFlag.PAYLOAD_LEN : 0) |
      (type === Cmd.BLOCK_STATUS ? CmdFlag.REQ_ONE : 0);
    if (flags & ~allowed) return [NbdErrno.EINVAL, `flags 0x${flags.toString(16)} not allowed`];
    if (type === Cmd.WRITE && extended && !(flags & CmdFlag.PAYLOAD_LEN)) {
      return [NbdErrno.EINVAL, 'WRITE without NBD_CMD_FLAG_PAYLOAD_LEN under extended headers'];
    }
    if (flags & CmdFlag.FUA && !(state.flags & TFlag.SEND_FUA)) {
      return [NbdErrno.EINVAL, 'FUA was not negotiated'];
    }
    if (flags & CmdFlag.FAST_ZERO && !(state.flags & TFlag.SEND_FAST_ZERO)) {
      return [NbdErrno.EINVAL, 'FAST_ZERO was not negotiated'];
    }
    const writing = type === Cmd.WRITE || type === Cmd.WRITE_ZEROES || type === Cmd.TRIM;
    if (writing && state.flags & TFlag.READ_ONLY) return [NbdErrno.EPERM, 'read-only export'];
    switch (type) {
      case Cmd.FLUSH:
        return state.flags & TFlag.SEND_FLUSH ? undefined : [NbdErrno.EINVAL, 'no flush'];
      case Cmd.TRIM:
        if (!(state.flags & TFlag.SEND_TRIM)) return [NbdErrno.EINVAL, 'trim not negotiated'];
        break;
      case Cmd.WRITE_ZEROES:
        if (!(state.flags & TFlag.SEND_WRITE_ZEROES)) {
          return [NbdErrno.EINVAL, 'write zeroes not negotiated'];
        }
        break;
      case Cmd.CACHE:
        if (!(state.flags & TFlag.SEND_CACHE)) return [NbdErrno.EINVAL, 'cache not negotiated'];
        break;
      case Cmd.BLOCK_STATUS:
        if (!this.metaBaseAllocation) {
          return [NbdErrno.EINVAL, 'no meta context was negotiated'];
        }
        break;
      case Cmd.READ:
      case Cmd.WRITE:
        if (length > state.blockSize.maximum) {
          return [this.replies.chunked ? NbdErrno.EOVERFLOW : NbdErrno.EINVAL, 'request too large'];
        }
        break;
      default:
        return [NbdErrno.EINVAL, `unknown command ${type}`];
    }
    if (length === 0) return [NbdErrno.EINVAL, 'zero-length request'];
    if (offset < 0 || offset + length > state.size) {
      // The spec: ENOSPC for writes past the end, EINVAL for everything else (trim included).
      const grows = type === Cmd.WRITE || type === Cmd.WRITE_ZEROES;
      return [grows ? NbdErrno.ENOSPC : NbdErrno.EINVAL, 'request beyond the end of the export'];
    }
    const min = state.blockSize.minimum;
    if (min > 1 && (offset % min !== 0 || length % min !== 0)) {
      return [NbdErrno.EINVAL, `request not aligned to ${min} bytes`];
    }
    return undefined;
  }

  private async serve(
    state: ExportState,
    type: number,
    flags: number,
    id: Buffer,
    offset: number,
    length: number,
    payload: Buffer | undefined,
  ): Promise<void> {
    const layer = state.layer;
    const fua = (flags & CmdFlag.FUA) !== 0;
    try {
      const problem = this.check(state, type, flags, offset, length);
      if (problem) {
        this.replies.replyError(id, type === Cmd.READ || type === Cmd.BLOCK_STATUS, ...problem);
        return;
      }
      switch (type) {
        case Cmd.READ:
          await this.serveRead(layer, id, offset, length, (flags & CmdFlag.DF) !== 0);
          return;
        case Cmd.WRITE:
          await this.writing(this.withTimeout(layer.pwrite(payload!, offset, { fua })));
          // The plugin is done with the payload (a timed-out one never gives it back).
          this.pool.release(payload!);
          break;
        case Cmd.FLUSH:
          // Every write replied to before this flush must be on disk after it.
          await Promise.allSettled([...this.pendingWrites]);
          await this.withTimeout(layer.flush());
          break;
        case Cmd.TRIM:
          await this.writing(this.withTimeout(layer.trim(length, offset, { fua })));
          break;
        case Cmd.CACHE:
          await this.withTimeout(layer.cache(length, offset));
          break;
        case Cmd.WRITE_ZEROES:
          await this.writing(
            this.withTimeout(
              layer.zero(length, offset, {
                fua,
                mayTrim: (flags & CmdFlag.NO_HOLE) === 0,
                fastZero: (flags & CmdFlag.FAST_ZERO) !== 0,
              }),
            ),
          );
          break;
        case Cmd.BLOCK_STATUS: {
          const reqOne = (flags & CmdFlag.REQ_ONE) !== 0;
          const extents = await this.withTimeout(layer.extents(length, offset, { reqOne }));
          this.replies.replyBlockStatus(id, normalizeExtents(extents, offset, length, reqOne));
          return;
        }
      }
      this.replies.replyDone(id);
    } catch (err) {
      this.log(`request ${type} at ${offset}+${length} failed: ${messageOf(err)}`);
      this.replies.replyError(
        id,
        type === Cmd.READ || type === Cmd.BLOCK_STATUS,
        errnoOf(err),
        messageOf(err),
      );
    } finally {
      if (payload) this.payloadBudget.release(payload.length);
      this.requestFinished();
    }
  }
}

/** Closes the connection on a request header of the wrong kind (or garbage). */
function checkRequestMagic(header: Buffer, extended: boolean): void {
  const magic = header.readUInt32BE(0);
  if (magic === (extended ? EXTENDED_REQUEST_MAGIC : REQUEST_MAGIC)) return;
  if (magic === REQUEST_MAGIC || magic === EXTENDED_REQUEST_MAGIC) {
    const sent = extended ? 'a compact' : 'an extended';
    throw new CloseConnection(
      `${sent} request header, but extended headers are ${extended ? 'on' : 'off'}`,
    );
  }
  throw new CloseConnection(`bad request magic 0x${magic.toString(16)}`);
}

function u16(value: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(value, 0);
  return b;
}
