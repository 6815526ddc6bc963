/**
 * The RPC engine: framing, serials, many calls in flight on one connection, asynchronous
 * messages (events, keepalive) and stream packets. Knows nothing of domains or pools.
 */
import { XdrError, XdrReader, XdrWriter, decode, encode } from '@tsvirt/xdr';
import { LibvirtError, LibvirtTransportError } from '../errors.js';
import type { Procedure } from '../protocol/procedure.js';
import {
  HEADER_SIZE,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
  MESSAGE_MAX,
  type MessageHeader,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  messageError,
  messageHeader,
  streamHole,
} from '../protocol/wire.js';
import type { Transport } from '../transport/transport.js';

interface PendingCall {
  procedure: string;
  onReply(status: number, body: Uint8Array): void;
  reject(err: Error): void;
}

/** Receives the packets of one stream (type STREAM, the serial of the call that opened it). */
export interface StreamSink {
  onPacket(status: number, body: Uint8Array): void;
  /** A hole of that many bytes in a sparse stream (type STREAM_HOLE). */
  onHole(length: bigint): void;
  onConnectionLost(err: LibvirtTransportError): void;
}

/** Decode an error body into the LibvirtError it describes. */
export function decodeRemoteError(body: Uint8Array, procedure: string): LibvirtError {
  const e = decode(messageError, body);
  return new LibvirtError({
    code: e.code,
    domain: e.domain,
    level: e.level,
    message: e.message ?? `libvirt error ${e.code} in ${procedure}`,
    procedure,
  });
}

export class RpcClient {
  private nextSerial = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly streams = new Map<number, StreamSink>();
  private readonly eventHandlers = new Map<number, (body: Uint8Array) => void>();
  private readonly closeListeners: ((err: LibvirtTransportError) => void)[] = [];
  private closed: LibvirtTransportError | null = null;
  private closingOnPurpose = false;

  // Framing state: chunks received but not yet a whole packet.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameLength: number | null = null;

  private receivedSinceTick = true;
  private keepaliveTimer: NodeJS.Timeout | null = null;

  /** Bytes written to and read from the transport, packet headers included. */
  bytesSent = 0;
  bytesReceived = 0;

  constructor(private readonly transport: Transport) {
    transport.start({
      onData: (chunk) => this.onData(chunk),
      onClose: (reason) => this.fail(reason),
    });
  }

  get peer(): string {
    return this.transport.peer;
  }

  /** Why the connection is closed, or null while it is open. */
  get closedReason(): LibvirtTransportError | null {
    return this.closed;
  }

  onClose(listener: (err: LibvirtTransportError) => void): void {
    this.closeListeners.push(listener);
  }

  /** Call a procedure and wait for its reply. */
  call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R> {
    return this.start(procedure, args, null).reply;
  }

  /** Call a procedure whose packets that follow the reply belong to a stream. */
  callWithStream<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    sink: StreamSink,
  ): { serial: number; reply: Promise<R> } {
    return this.start(procedure, args, sink);
  }

  private start<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    sink: StreamSink | null,
  ): { serial: number; reply: Promise<R> } {
    const serial = this.nextSerial;
    this.nextSerial = (this.nextSerial + 1) >>> 0 || 1;
    const reply = new Promise<R>((resolve, reject) => {
      if (this.closed !== null) {
        reject(this.closed);
        return;
      }
      const body = encode(procedure.args, args);
      this.pending.set(serial, {
        procedure: procedure.name,
        reject,
        onReply: (status, replyBody) => {
          if (status === MessageStatus.VIR_NET_OK) {
            resolve(decode(procedure.ret, replyBody));
          } else {
            reject(decodeRemoteError(replyBody, procedure.name));
          }
        },
      });
      if (sink !== null) this.streams.set(serial, sink);
      this.send(
        {
          prog: procedure.program,
          vers: procedure.version,
          proc: procedure.number,
          type: MessageType.VIR_NET_CALL,
          serial,
          status: MessageStatus.VIR_NET_OK,
        },
        body,
      );
    });
    return { serial, reply };
  }

  /** Send one packet. Returns false when the transport wants a pause (see waitForDrain). */
  send(header: MessageHeader, body: Uint8Array): boolean {
    if (this.closed !== null) throw this.closed;
    // The body goes as is: it is already XDR for calls, and raw bytes for stream data (which
    // must not be padded).
    const packet = Buffer.allocUnsafe(4 + HEADER_SIZE + body.byteLength);
    const w = new XdrWriter(4 + HEADER_SIZE);
    w.uint(packet.byteLength);
    messageHeader.encode(w, header);
    packet.set(w.finish(), 0);
    packet.set(body, 4 + HEADER_SIZE);
    this.bytesSent += packet.byteLength;
    return this.transport.write(packet);
  }

  waitForDrain(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed !== null) {
        reject(this.closed);
        return;
      }
      const onClose = (err: LibvirtTransportError): void => reject(err);
      this.closeListeners.push(onClose);
      this.transport.onceDrain(() => {
        const i = this.closeListeners.indexOf(onClose);
        if (i >= 0) this.closeListeners.splice(i, 1);
        resolve();
      });
    });
  }

  removeStream(serial: number): void {
    this.streams.delete(serial);
  }

  /** Handle asynchronous messages of the remote program with this procedure number. */
  onEvent(procedure: number, handler: (body: Uint8Array) => void): void {
    this.eventHandlers.set(procedure, handler);
  }

  /**
   * Keepalive (libvirt's keepalive program): after an interval of `intervalMs` in which
   * nothing came from the daemon, send a PING; after `count` PINGs in a row go unanswered,
   * give the connection up. Any packet counts as an answer.
   */
  startKeepalive(intervalMs: number, count: number): void {
    let missed = 0;
    this.keepaliveTimer = setInterval(() => {
      if (this.receivedSinceTick) {
        this.receivedSinceTick = false;
        missed = 0;
        return;
      }
      missed++;
      if (missed > count) {
        this.fail(
          new LibvirtTransportError(
            'TIMEOUT',
            `no answer from libvirtd at ${this.peer} for ${Math.round((intervalMs * count) / 1000)} s (keepalive timeout)`,
          ),
        );
        return;
      }
      this.sendKeepalive(KeepaliveProcedure.KEEPALIVE_PROC_PING);
    }, intervalMs);
    this.keepaliveTimer.unref();
  }

  private sendKeepalive(proc: KeepaliveProcedure): void {
    if (this.closed !== null) return;
    this.send(
      {
        prog: KEEPALIVE_PROGRAM,
        vers: KEEPALIVE_PROTOCOL_VERSION,
        proc,
        type: MessageType.VIR_NET_MESSAGE,
        serial: 0,
        status: MessageStatus.VIR_NET_OK,
      },
      new Uint8Array(0),
    );
  }

  /** Close on purpose: pending calls reject with CLOSED. */
  close(): Promise<void> {
    if (this.closed !== null) return Promise.resolve();
    this.closingOnPurpose = true;
    return new Promise((resolve) => {
      this.closeListeners.push(() => resolve());
      this.transport.close();
    });
  }

  private onData(chunk: Buffer): void {
    this.receivedSinceTick = true;
    this.bytesReceived += chunk.byteLength;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    while (this.closed === null) {
      if (this.frameLength === null) {
        if (this.buffered < 4) return;
        const length = this.take(4).readUInt32BE(0);
        if (length < 4 + HEADER_SIZE || length > MESSAGE_MAX) {
          this.fail(
            new LibvirtTransportError(
              'PROTOCOL',
              `${this.peer} sent a packet of ${length} bytes: not libvirt's protocol (is this a libvirt socket?)`,
            ),
          );
          return;
        }
        this.frameLength = length - 4;
      }
      if (this.buffered < this.frameLength) return;
      const packet = this.take(this.frameLength);
      this.frameLength = null;
      this.onPacket(packet);
    }
  }

  private take(n: number): Buffer {
    const all =
      this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.buffered = rest.byteLength;
    return all.subarray(0, n);
  }

  private onPacket(packet: Buffer): void {
    const header = messageHeader.decode(new XdrReader(packet));
    const body = packet.subarray(HEADER_SIZE);
    try {
      this.dispatch(header, body);
    } catch (e) {
      // A reply we cannot decode means our layout and the daemon's disagree: fail loudly.
      if (e instanceof XdrError) {
        this.fail(
          new LibvirtTransportError(
            'PROTOCOL',
            `cannot decode a packet from ${this.peer}: ${e.message}`,
            { cause: e },
          ),
        );
        return;
      }
      throw e;
    }
  }

  private dispatch(header: MessageHeader, body: Uint8Array): void {
    switch (header.type) {
      case MessageType.VIR_NET_REPLY: {
        const call = this.pending.get(header.serial);
        if (call === undefined) return; // a reply nobody waits for (its caller gave up)
        this.pending.delete(header.serial);
        try {
          call.onReply(header.status, body);
        } catch (e) {
          if (e instanceof XdrError) {
            call.reject(
              new LibvirtTransportError(
                'PROTOCOL',
                `cannot decode the reply to ${call.procedure}: ${e.message}`,
                { cause: e },
              ),
            );
            return;
          }
          throw e;
        }
        return;
      }
      case MessageType.VIR_NET_MESSAGE:
        if (header.prog === KEEPALIVE_PROGRAM) {
          if (header.proc === KeepaliveProcedure.KEEPALIVE_PROC_PING) {
            this.sendKeepalive(KeepaliveProcedure.KEEPALIVE_PROC_PONG);
          }
          return;
        }
        if (header.prog === REMOTE_PROGRAM) this.eventHandlers.get(header.proc)?.(body);
        return;
      case MessageType.VIR_NET_STREAM:
        this.streams.get(header.serial)?.onPacket(header.status, body);
        return;
      case MessageType.VIR_NET_STREAM_HOLE: {
        const sink = this.streams.get(header.serial);
        if (sink === undefined) return;
        if (header.status === MessageStatus.VIR_NET_CONTINUE) {
          sink.onHole(decode(streamHole, body).length);
        } else {
          sink.onPacket(header.status, body); // an error ends a sparse stream as any other
        }
        return;
      }
      case MessageType.VIR_NET_CALL:
      case MessageType.VIR_NET_CALL_WITH_FDS:
      case MessageType.VIR_NET_REPLY_WITH_FDS:
        return; // calls from the server and file descriptors: not used by this client
    }
  }

  private fail(reason: LibvirtTransportError): void {
    if (this.closed !== null) return;
    const err = this.closingOnPurpose
      ? new LibvirtTransportError('CLOSED', `connection to ${this.peer} was closed`)
      : reason;
    this.closed = err;
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
    for (const sink of this.streams.values()) sink.onConnectionLost(err);
    this.streams.clear();
    this.transport.close();
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}
