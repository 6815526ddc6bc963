/**
 * One conversation with guestfsd: framing, serials, one call at a time (the daemon is strictly
 * sequential), FileIn/FileOut chunk streams, progress messages, cancellation both ways, a
 * per-call timeout. Knows nothing of mounts or files: procedures come from the generated table.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { XdrError, XdrReader, XdrWriter } from '@tsvirt/xdr';
import { GuestfsCancelledError, GuestfsConnectionError, GuestfsError } from '../errors.js';
import type {
  FileInSource,
  FileOutTarget,
  FileTransfer,
  ProcedureInfo,
} from '../protocol/procedure.js';
import {
  GUESTFS_CANCEL_FLAG,
  GUESTFS_MAX_CHUNK_SIZE,
  GUESTFS_PROGRAM,
  GUESTFS_PROTOCOL_VERSION,
  GuestfsMessageDirection,
  GuestfsMessageStatus,
  type GuestfsMessageHeader,
  guestfsChunk,
  guestfsMessageError,
  guestfsMessageHeader,
} from '../protocol/xdr.generated.js';
import { type Frame, FrameReader } from './framing.js';

/** A progress message for the call in flight (units are the procedure's own, often bytes). */
export interface Progress {
  readonly position: bigint;
  readonly total: bigint;
}

export interface CallOptions {
  /**
   * Give up when the call has not finished after this long. The daemon cannot be interrupted,
   * so a timeout closes the connection (and the appliance with it). Default: no limit.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Cancel the call. A FileIn/FileOut transfer is cancelled in the protocol and the handle stays
   * usable (GuestfsCancelledError); any other call cannot be stopped, so aborting it closes the
   * connection (GuestfsConnectionError ABORTED).
   */
  readonly signal?: AbortSignal | undefined;
  /** Progress messages of the call (the daemon sends them for long calls only). */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

const HEADER_SIZE = 40;
/** Received messages held for a slow consumer (a FileOut target) before the daemon must wait. */
const QUEUE_HIGH = 1024 * 1024;
const QUEUE_LOW = 256 * 1024;
const EMPTY = new Uint8Array(0);

/** The call in flight: progress messages for it go to its listener. */
interface CurrentCall {
  readonly serial: number;
  readonly onProgress: ((progress: Progress) => void) | undefined;
}

export class RpcSession {
  private readonly reader: FrameReader;
  /** Messages and cancel flags not yet taken by the call in flight. */
  private readonly frames: Frame[] = [];
  /** Bytes held in `frames`; above QUEUE_HIGH the socket is paused so the daemon waits. */
  private queuedBytes = 0;
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private failure: GuestfsConnectionError | null = null;
  private readonly closeListeners: ((err: GuestfsConnectionError) => void)[] = [];
  private launched = false;
  private readonly launchWaiters: (() => void)[] = [];
  private serial = 0;
  private current: CurrentCall | null = null;
  /** Calls wait here for the one before them: one call in flight. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    /** Names the peer in errors, e.g. "the appliance" or a socket path. */
    private readonly peer: string,
  ) {
    this.reader = new FrameReader(
      (frame) => this.onFrame(frame),
      (detail) => this.protocolError(detail),
    );
    socket.on('data', (data: Buffer) => {
      try {
        this.reader.push(data);
      } catch (e) {
        if (!(e instanceof XdrError)) throw e;
        this.protocolError(e.message);
      }
    });
    socket.on('error', (e) =>
      this.fail(
        new GuestfsConnectionError('CLOSED', `connection to ${peer}: ${e.message}`, { cause: e }),
      ),
    );
    socket.on('close', () =>
      this.fail(new GuestfsConnectionError('CLOSED', `${peer} closed the connection`)),
    );
  }

  /** Why the session ended, or null while it is open. */
  get closedReason(): GuestfsConnectionError | null {
    return this.failure;
  }

  onClose(listener: (err: GuestfsConnectionError) => void): void {
    if (this.failure !== null) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /** Resolves when the daemon has sent GUESTFS_LAUNCH_FLAG (it is up and listening). */
  waitForLaunch(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.launched) return resolve();
      if (this.failure !== null) return reject(this.failure);
      this.launchWaiters.push(resolve);
      this.onClose(reject);
    });
  }

  /** Ends the session: pending calls fail with CLOSED. */
  close(reason = 'the handle was closed'): void {
    this.fail(new GuestfsConnectionError('CLOSED', reason));
  }

  /** Calls a procedure; `args` is the whole argument struct, `optargsMask` its bitmask. */
  call(
    procedure: ProcedureInfo,
    args: object,
    optargsMask: bigint,
    file: FileTransfer | null,
    options: CallOptions = {},
  ): Promise<unknown> {
    const run = this.queue.then(() => this.run(procedure, args, optargsMask, file, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(
    procedure: ProcedureInfo,
    args: object,
    optargsMask: bigint,
    file: FileTransfer | null,
    options: CallOptions,
  ): Promise<unknown> {
    if (this.failure !== null) throw this.failure;
    const { signal, timeoutMs } = options;
    signal?.throwIfAborted();
    const serial = (this.serial = (this.serial + 1) >>> 0);
    this.current = { serial, onProgress: options.onProgress };
    const timer =
      timeoutMs === undefined
        ? null
        : setTimeout(
            () =>
              this.fail(
                new GuestfsConnectionError(
                  'TIMEOUT',
                  `${procedure.name} did not finish within ${timeoutMs} ms; the connection to ${this.peer} was closed`,
                ),
              ),
            timeoutMs,
          );
    // Only transfers can be cancelled in the protocol; anything else can only be abandoned.
    const onAbort = (): void =>
      this.fail(
        new GuestfsConnectionError(
          'ABORTED',
          `${procedure.name} was aborted; it cannot be cancelled, so the connection to ${this.peer} was closed`,
        ),
      );
    if (file === null) signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const progressHint =
        file?.direction === 'in' && typeof file.source === 'string'
          ? BigInt((await stat(file.source)).size)
          : 0n;
      this.sendCall(procedure, serial, args, optargsMask, progressHint);
      if (file?.direction === 'in')
        return await this.fileIn(procedure, serial, file.source, signal);
      const reply = await this.reply(procedure, serial);
      if (file?.direction === 'out') await this.fileOut(procedure, file.target, signal);
      return reply;
    } finally {
      if (timer !== null) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.current = null;
    }
  }

  private sendCall(
    procedure: ProcedureInfo,
    serial: number,
    args: object,
    optargsMask: bigint,
    progressHint: bigint,
  ): void {
    const w = new XdrWriter(HEADER_SIZE + 64);
    w.uint(0); // the length, patched below
    const header: GuestfsMessageHeader = {
      prog: GUESTFS_PROGRAM,
      vers: GUESTFS_PROTOCOL_VERSION,
      proc: procedure.number as GuestfsMessageHeader['proc'],
      direction: GuestfsMessageDirection.GUESTFS_DIRECTION_CALL,
      serial,
      progress_hint: progressHint,
      optargs_bitmask: optargsMask,
      status: GuestfsMessageStatus.GUESTFS_STATUS_OK,
    };
    guestfsMessageHeader.encode(w, header);
    procedure.args?.encode(w, args);
    const message = w.finish();
    w.patchUint(0, message.byteLength - 4);
    this.socket.write(message);
  }

  /** Reads the reply to the call in flight: its result, or the daemon's error. */
  private async reply(procedure: ProcedureInfo, serial: number): Promise<unknown> {
    const r = new XdrReader(await this.nextMessage());
    const header = this.decode(() => guestfsMessageHeader.decode(r));
    if (
      header.prog !== GUESTFS_PROGRAM ||
      header.direction !== GuestfsMessageDirection.GUESTFS_DIRECTION_REPLY ||
      header.serial !== serial ||
      header.proc !== procedure.number
    ) {
      this.protocolError(
        `a reply to procedure ${header.proc} serial ${header.serial}, waiting for ${procedure.name} (${procedure.number}) serial ${serial}`,
      );
      throw this.failure!;
    }
    if (header.status === GuestfsMessageStatus.GUESTFS_STATUS_ERROR) {
      const e = this.decode(() => guestfsMessageError.decode(r));
      throw new GuestfsError(procedure.name, e.errno_string, e.error_message);
    }
    const ret = procedure.ret === null ? undefined : this.decode(() => procedure.ret!.decode(r));
    if (r.remaining !== 0) {
      this.protocolError(`${r.remaining} bytes after the reply to ${procedure.name}`);
      throw this.failure!;
    }
    return ret;
  }

  /** Sends a file as chunks after the call, then reads the reply. */
  private async fileIn(
    procedure: ProcedureInfo,
    serial: number,
    source: FileInSource,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    let cancelled: { by: 'library' | 'daemon'; reason: string; cause?: unknown } | null = null;
    const input: Readable =
      typeof source === 'string' ? createReadStream(source, { highWaterMark: 128 * 1024 }) : source;
    try {
      for await (const data of abortable(input, signal)) {
        for (let at = 0; at < data.byteLength && cancelled === null; at += GUESTFS_MAX_CHUNK_SIZE) {
          if (this.takeCancelFlag()) {
            cancelled = { by: 'daemon', reason: 'the daemon cancelled the upload' };
            break;
          }
          await this.sendChunk(0, data.subarray(at, at + GUESTFS_MAX_CHUNK_SIZE));
        }
        if (cancelled !== null) break;
      }
    } catch (e) {
      if (e instanceof GuestfsConnectionError) throw e;
      cancelled = signal?.aborted
        ? { by: 'library', reason: 'the upload was cancelled' }
        : { by: 'library', reason: `reading the local file: ${(e as Error).message}`, cause: e };
    } finally {
      if (typeof source === 'string') input.destroy();
    }
    if (cancelled === null && this.takeCancelFlag()) {
      cancelled = { by: 'daemon', reason: 'the daemon cancelled the upload' };
    }
    await this.sendChunk(cancelled === null ? 0 : 1, EMPTY);
    try {
      const ret = await this.reply(procedure, serial);
      if (cancelled?.by === 'library') {
        // Cannot happen with guestfsd (it answers a cancelled upload with an error), but a
        // success here still is not what the caller asked for.
        throw new GuestfsCancelledError(procedure.name, 'library', cancelled.reason, {
          cause: cancelled.cause,
        });
      }
      return ret;
    } catch (e) {
      // We cancelled: the daemon's "file upload cancelled" error is the expected answer.
      if (e instanceof GuestfsError && cancelled?.by === 'library') {
        throw new GuestfsCancelledError(procedure.name, 'library', cancelled.reason, {
          cause: cancelled.cause,
        });
      }
      throw e;
    }
  }

  /** Receives the chunks that follow a FileOut reply into the target. */
  private async fileOut(
    procedure: ProcedureInfo,
    target: FileOutTarget,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const output: Writable =
      typeof target === 'string'
        ? createWriteStream(target, { highWaterMark: 128 * 1024 })
        : target;
    let localError: Error | null = null;
    output.on('error', (e) => (localError ??= e));
    let cancelledByUs = false;
    const cancel = (): void => {
      if (cancelledByUs) return;
      cancelledByUs = true;
      const flag = Buffer.alloc(4);
      flag.writeUInt32BE(GUESTFS_CANCEL_FLAG);
      this.socket.write(flag);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        const data = await this.nextMessage();
        const chunk = this.decode(() => guestfsChunk.decode(new XdrReader(data)));
        if (chunk.cancel !== 0) {
          if (cancelledByUs) break;
          throw new GuestfsCancelledError(
            procedure.name,
            'daemon',
            'the daemon cancelled the download',
          );
        }
        if (chunk.data.byteLength === 0) break;
        if (cancelledByUs) continue; // draining until the daemon acknowledges
        if (localError !== null) {
          cancel();
          continue;
        }
        if (!output.write(chunk.data)) await drained(output);
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
      if (typeof target === 'string') {
        output.end();
        await finished(output).catch((e: unknown) => (localError ??= e as Error));
      }
    }
    if (localError !== null) {
      throw new GuestfsCancelledError(
        procedure.name,
        'library',
        `writing the local file: ${(localError as Error).message}`,
        {
          cause: localError,
        },
      );
    }
    if (cancelledByUs)
      throw new GuestfsCancelledError(procedure.name, 'library', 'the download was cancelled');
  }

  private async sendChunk(cancel: 0 | 1, data: Uint8Array): Promise<void> {
    const w = new XdrWriter(data.byteLength + 16);
    w.uint(0);
    guestfsChunk.encode(w, { cancel, data });
    const message = w.finish();
    w.patchUint(0, message.byteLength - 4);
    if (this.failure !== null) throw this.failure;
    if (!this.socket.write(message)) await this.drain();
  }

  private drain(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onClose = (e: GuestfsConnectionError): void => reject(e);
      this.closeListeners.push(onClose);
      this.socket.once('drain', () => {
        const i = this.closeListeners.indexOf(onClose);
        if (i >= 0) this.closeListeners.splice(i, 1);
        resolve();
      });
    });
  }

  /** True (once) if the daemon has sent GUESTFS_CANCEL_FLAG. */
  private takeCancelFlag(): boolean {
    const i = this.frames.findIndex((f) => f.kind === 'cancel');
    if (i < 0) return false;
    this.frames.splice(i, 1);
    return true;
  }

  /** The next message, skipping cancel flags (left over from a FileIn, already handled). */
  private async nextMessage(): Promise<Buffer> {
    for (;;) {
      const frame = await this.nextFrame();
      if (frame.kind === 'message') return frame.data;
    }
  }

  private nextFrame(): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued !== undefined) {
      if (queued.kind === 'message') this.queuedBytes -= queued.data.byteLength;
      if (this.queuedBytes < QUEUE_LOW && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(queued);
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private onFrame(frame: Frame): void {
    switch (frame.kind) {
      case 'launch':
        this.launched = true;
        for (const w of this.launchWaiters.splice(0)) w();
        return;
      case 'progress': {
        const { serial, position, total } = frame.progress;
        if (this.current?.serial === serial) this.current.onProgress?.({ position, total });
        return;
      }
      case 'message':
      case 'cancel': {
        const waiter = this.waiter;
        this.waiter = null;
        if (waiter !== null) {
          waiter.resolve(frame);
          return;
        }
        this.frames.push(frame);
        if (frame.kind === 'message') this.queuedBytes += frame.data.byteLength;
        if (this.queuedBytes > QUEUE_HIGH) this.socket.pause();
        return;
      }
    }
  }

  private decode<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof XdrError) {
        this.protocolError(e.message);
        throw this.failure!;
      }
      throw e;
    }
  }

  private protocolError(detail: string): void {
    this.fail(
      new GuestfsConnectionError(
        'PROTOCOL',
        `${this.peer} sent something that is not the guestfs protocol: ${detail}`,
      ),
    );
  }

  private fail(err: GuestfsConnectionError): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.waiter?.reject(err);
    this.waiter = null;
    this.socket.destroy();
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}

/** Iterates a stream, stopping with an AbortError when the signal fires. */
async function* abortable(
  input: Readable,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    const onAbort = (): void =>
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  } finally {
    // Not `await it.return()`: with a read still pending it would wait for data that may
    // never come. The stream is done with either way.
    input.destroy();
  }
}

function drained(output: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      output.off('drain', done);
      output.off('error', done);
      output.off('close', done);
      resolve();
    };
    output.on('drain', done);
    output.on('error', done);
    output.on('close', done);
  });
}
