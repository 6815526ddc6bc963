import { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { encode } from '@tsvirt/xdr';
import type { LibvirtTransportError } from './errors.js';
import { type RpcClient, type StreamSink, decodeRemoteError } from './rpc/client.js';
import {
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  STREAM_CHUNK_MAX,
  streamHole,
} from './protocol/wire.js';

/** A run of zeroes a sparse stream carries as its length only (libvirt's STREAM_HOLE). */
export class StreamHole {
  constructor(readonly length: bigint) {}
}

/**
 * A libvirt stream (console I/O, volume upload and download) as a Node Duplex: what the daemon
 * sends is readable, what is written goes to the daemon. end() (or finish()) sends libvirt's
 * "finish" and completes once the daemon confirms; abort() tells the daemon to drop it.
 *
 * A sparse stream (a volume upload or download with the SPARSE_STREAM flag) is in object mode
 * both ways: its chunks are Buffers of data and StreamHoles, so that a mostly empty disk moves
 * as its data and the lengths of its holes (readSparseFile and writeSparseFile make and take
 * such chunks from and to a local file).
 */
export class LibvirtStream extends Duplex implements StreamSink {
  private serial = 0;
  private finishCallback: ((err?: Error | null) => void) | null = null;
  private done = false;
  /** We sent our finish: an abort after it would only confuse the daemon. */
  private sentFinish = false;

  /** @internal created by LibvirtConnection */
  constructor(
    private readonly rpc: RpcClient,
    private readonly procedure: { number: number; name: string },
    /** Whether the stream carries holes (it is then in object mode). */
    readonly sparse = false,
  ) {
    // The writable side is in object mode either way, so that a StreamHole written to a
    // stream that is not sparse is an error of the stream (Node would throw it at the writer).
    super({ allowHalfOpen: true, readableObjectMode: sparse, writableObjectMode: true });
    // The daemon can end a stream with an error at any moment, even before the caller has
    // the stream in hand (an error packet right behind the reply that opened it). That
    // must never crash the process as an unhandled 'error' event: the error is kept
    // (`errored`) and reaches whoever waits on the stream (pipeline, finished, finish()).
    this.on('error', () => undefined);
  }

  /** @internal the serial of the call that opened the stream */
  attach(serial: number): void {
    this.serial = serial;
  }

  /** Finish the stream: flush what was written, tell the daemon, wait for its confirmation. */
  async finish(): Promise<void> {
    this.end();
    await finished(this, { readable: false });
  }

  /** Abort the stream: the daemon discards it (an upload in progress is not completed). */
  abort(): Promise<void> {
    if (!this.done && !this.sentFinish && this.rpc.closedReason === null) {
      this.sendPacket(MessageStatus.VIR_NET_ERROR, new Uint8Array(0));
    }
    if (!this.done) this.detach();
    this.destroy();
    return Promise.resolve();
  }

  private sendPacket(
    status: MessageStatus,
    body: Uint8Array,
    type: MessageType = MessageType.VIR_NET_STREAM,
  ): boolean {
    return this.rpc.send(
      {
        prog: REMOTE_PROGRAM,
        vers: REMOTE_PROTOCOL_VERSION,
        proc: this.procedure.number,
        type,
        serial: this.serial,
        status,
      },
      body,
    );
  }

  /** No more packets for this stream, either way. */
  private detach(): void {
    this.done = true;
    this.rpc.removeStream(this.serial);
  }

  // --- packets from the daemon ---

  onHole(length: bigint): void {
    if (this.sparse) this.push(new StreamHole(length));
    else
      this.destroy(new Error(`libvirt sent a hole in ${this.procedure.name}, which is not sparse`));
  }

  onPacket(status: number, body: Uint8Array): void {
    switch (status) {
      case MessageStatus.VIR_NET_CONTINUE:
        if (body.byteLength > 0) {
          this.push(Buffer.from(body));
          return;
        }
        // An empty data packet is the daemon's end of file. The stream is over: end our side
        // too, which sends the finish the daemon waits for before it releases the stream.
        this.push(null);
        if (!this.writableEnded) this.end();
        return;
      case MessageStatus.VIR_NET_OK:
        // End of data from the daemon, or its confirmation of our finish.
        this.push(null);
        if (this.finishCallback !== null) {
          this.detach();
          this.finishCallback();
          this.finishCallback = null;
        } else if (!this.done) {
          // The daemon ended a read stream: confirm, as libvirt's own client does, so it can
          // release the stream; our writable side has nothing more to say.
          this.sendPacket(MessageStatus.VIR_NET_OK, new Uint8Array(0));
          this.detach();
        }
        return;
      case MessageStatus.VIR_NET_ERROR:
        this.detach();
        this.destroy(decodeRemoteError(body, this.procedure.name));
        return;
    }
  }

  onConnectionLost(err: LibvirtTransportError): void {
    this.done = true;
    this.destroy(err);
  }

  // --- Duplex implementation ---

  override _read(): void {
    // Data is pushed as packets arrive; libvirt streams have no pull-side flow control.
  }

  override _write(
    chunk: unknown,
    encoding: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    const data =
      typeof chunk === 'string'
        ? Buffer.from(chunk, encoding)
        : chunk instanceof Uint8Array && !Buffer.isBuffer(chunk)
          ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : chunk;
    void this.writeChunks(data).then(() => callback(), callback);
  }

  private async writeChunks(chunk: unknown): Promise<void> {
    if (chunk instanceof StreamHole) {
      if (!this.sparse)
        throw new TypeError(`${this.procedure.name}: a hole in a stream that is not sparse`);
      const hole = encode(streamHole, { length: chunk.length, flags: 0 });
      const type = MessageType.VIR_NET_STREAM_HOLE;
      if (!this.sendPacket(MessageStatus.VIR_NET_CONTINUE, hole, type))
        await this.rpc.waitForDrain();
      return;
    }
    if (!Buffer.isBuffer(chunk)) {
      throw new TypeError(
        `${this.procedure.name}: a stream takes bytes (and StreamHoles when sparse)`,
      );
    }
    for (let at = 0; at < chunk.byteLength; at += STREAM_CHUNK_MAX) {
      const data = chunk.subarray(at, at + STREAM_CHUNK_MAX);
      if (!this.sendPacket(MessageStatus.VIR_NET_CONTINUE, data)) await this.rpc.waitForDrain();
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.done) {
      callback();
      return;
    }
    this.finishCallback = callback;
    try {
      this.sendPacket(MessageStatus.VIR_NET_OK, new Uint8Array(0));
      this.sentFinish = true;
    } catch (e) {
      this.finishCallback = null;
      callback(e as Error);
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.done && !this.sentFinish && this.rpc.closedReason === null) {
      // Destroyed locally before the end: tell the daemon to drop its side.
      try {
        this.sendPacket(MessageStatus.VIR_NET_ERROR, new Uint8Array(0));
      } catch {
        // the connection is going away anyway
      }
    }
    if (!this.done) this.detach();
    const pending = this.finishCallback;
    this.finishCallback = null;
    pending?.(err ?? new Error('stream destroyed before the daemon confirmed its end'));
    callback(err);
  }
}
