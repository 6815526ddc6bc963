/**
 * The daemon's end of the channel: messages and cancel flags in from the library, messages
 * and flags out. Reading goes on in the background, so that a cancel flag sent during a
 * download is seen before the next chunk; it pauses while too much is queued (an upload
 * faster than the disk), so the library waits instead of filling memory.
 */
import type { Readable } from 'node:stream';
import { XdrError } from '@tsvirt/xdr';
import { type Frame, FrameReader } from '../rpc/framing.js';

/** Where the library is: the virtio-serial port in the appliance, or a unix socket. */
export interface Channel {
  readonly input: Readable;
  /** Writes in order; resolves when the data may be followed by more (backpressure). */
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The library closed the channel (the handle was closed, or qemu is stopping). */
export class ChannelClosed extends Error {
  override readonly name = 'ChannelClosed';
}

/** The library sent something that is not the guestfs protocol: the daemon must stop. */
export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
}

/** What the library sends: call messages and chunks, and cancel flags. */
export type LibraryFrame = Extract<Frame, { kind: 'message' | 'cancel' }>;

const QUEUE_HIGH = 1024 * 1024;
const QUEUE_LOW = 256 * 1024;

export class LibraryConnection {
  private readonly frames: LibraryFrame[] = [];
  private queuedBytes = 0;
  private waiter: { resolve: (f: LibraryFrame) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(private readonly channel: Channel) {
    const reader = new FrameReader(
      (frame) => this.onFrame(frame),
      (detail) => this.end(new ProtocolViolation(`the library sent ${detail}`)),
    );
    channel.input.on('data', (data: Buffer) => {
      try {
        reader.push(data);
      } catch (e) {
        if (!(e instanceof XdrError)) throw e;
        this.end(new ProtocolViolation(e.message));
      }
    });
    channel.input.once('end', () => this.end(new ChannelClosed('the library closed the channel')));
    channel.input.once('error', (e) =>
      this.end(new ChannelClosed(`reading the channel: ${e.message}`)),
    );
  }

  /** The next message or cancel flag; rejects with ChannelClosed or ProtocolViolation. */
  next(): Promise<LibraryFrame> {
    const frame = this.frames.shift();
    if (frame !== undefined) {
      if (frame.kind === 'message') this.queuedBytes -= frame.data.byteLength;
      if (this.queuedBytes < QUEUE_LOW && this.channel.input.isPaused())
        this.channel.input.resume();
      return Promise.resolve(frame);
    }
    if (this.ended !== null) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** True (once) when the library has sent a cancel flag that nobody has taken yet. */
  takeCancel(): boolean {
    const i = this.frames.findIndex((f) => f.kind === 'cancel');
    if (i < 0) return false;
    this.frames.splice(i, 1);
    return true;
  }

  /** A message: the 4-byte length, then the bytes. */
  send(message: Uint8Array): Promise<void> {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(message.byteLength);
    return this.channel.write(Buffer.concat([length, message]));
  }

  /** A flag word in place of a length (launch, cancel), or a flag and its body (progress). */
  sendFlag(flag: number, body: Uint8Array = new Uint8Array(0)): Promise<void> {
    const word = Buffer.alloc(4);
    word.writeUInt32BE(flag);
    return this.channel.write(Buffer.concat([word, body]));
  }

  private onFrame(frame: Frame): void {
    if (frame.kind === 'launch' || frame.kind === 'progress') {
      this.end(new ProtocolViolation(`the library sent a ${frame.kind} flag`));
      return;
    }
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter !== null) return waiter.resolve(frame);
    this.frames.push(frame);
    if (frame.kind === 'message') this.queuedBytes += frame.data.byteLength;
    if (this.queuedBytes > QUEUE_HIGH) this.channel.input.pause();
  }

  private end(reason: Error): void {
    if (this.ended !== null) return;
    this.ended = reason;
    this.waiter?.reject(reason);
    this.waiter = null;
  }
}
