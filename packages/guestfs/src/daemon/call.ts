/**
 * One call being served: what a procedure's implementation may do besides returning a
 * result. Receive the file of a FileIn call, send the file of a FileOut call (after the OK
 * reply), report progress; and the daemon's state (the sysroot, the options it runs with).
 */
import { XdrReader, XdrWriter } from '@tsvirt/xdr';
import type { ProcedureInfo } from '../protocol/procedure.js';
import {
  GUESTFS_CANCEL_FLAG,
  GUESTFS_MAX_CHUNK_SIZE,
  GUESTFS_PROGRESS_FLAG,
  type GuestfsProgress,
  guestfsChunk,
  guestfsProgress,
} from '../protocol/xdr.generated.js';
import { DaemonError } from './errors.js';
import type { Sysroot } from './guest-path.js';
import { type LibraryConnection, ProtocolViolation } from './connection.js';

/** What the daemon runs with. */
export interface DaemonState {
  readonly sysroot: Sysroot;
  /** The appliance has a network (guestfs_network=1): commands get the appliance's resolv.conf. */
  readonly network: boolean;
  /** Unmount everything on internal_autosync (not when serving a host directory standalone). */
  readonly autosyncUmount: boolean;
}

/** Progress: the first message after 2 s, then at most every 333 ms, and always at 100 %. */
const PROGRESS_FIRST_MS = 2000;
const PROGRESS_PERIOD_MS = 333;

/** The library cancelled the upload it was sending (a cancel chunk). */
export class UploadCancelled extends DaemonError {
  constructor() {
    super('', 'file upload cancelled');
  }
}

export type TransferState = 'none' | 'receiving' | 'received' | 'sending' | 'sent';

export class Call {
  private readonly started = Date.now();
  private lastProgress = this.started;
  private progressSent = 0;
  /** Where the call's file transfer is; the dispatcher finishes what the procedure did not. */
  transfer: TransferState = 'none';
  /** Arguments that named a device (Dev_or_Path, Mountable_or_Path), not a guest path. */
  readonly deviceArgs = new Set<string>();

  constructor(
    readonly state: DaemonState,
    private readonly connection: LibraryConnection,
    readonly procedure: ProcedureInfo,
    readonly serial: number,
    /** The size the library says a FileIn will have (0: unknown). */
    readonly progressHint: bigint,
  ) {}

  get sysroot(): Sysroot {
    return this.state.sysroot;
  }

  /** Whether this Dev_or_Path argument named a device (true) or a guest path (false). */
  isDevice(argument: string): boolean {
    return this.deviceArgs.has(argument);
  }

  /** Reports progress (rate-limited like guestfsd's notify_progress). */
  progress(position: bigint, total: bigint): void {
    const now = Date.now();
    const atEnd = this.progressSent > 0 && position === total;
    const wait = this.progressSent === 0 ? PROGRESS_FIRST_MS : PROGRESS_PERIOD_MS;
    if (!atEnd && now - this.lastProgress < wait) return;
    this.progressSent++;
    this.lastProgress = now;
    const w = new XdrWriter(24);
    guestfsProgress.encode(w, {
      proc: this.procedure.number as GuestfsProgress['proc'],
      serial: this.serial,
      position,
      total,
    });
    // Not awaited: the channel keeps writes in order, and progress is small. A closed channel
    // is reported by the call's next write, not here.
    this.connection.sendFlag(GUESTFS_PROGRESS_FLAG, w.finish()).catch(() => undefined);
  }

  /**
   * The chunks of the call's FileIn file, until its end. Throws UploadCancelled when the
   * library cancels it. Consume it whole, or call cancelReceive().
   */
  async *receive(): AsyncGenerator<Uint8Array> {
    if (this.transfer !== 'receiving')
      throw new Error(`${this.procedure.name}: no file to receive`);
    for (;;) {
      const frame = await this.connection.next();
      if (frame.kind === 'cancel') continue; // left over from an earlier download: ignored
      const chunk = guestfsChunk.decode(new XdrReader(frame.data));
      if (chunk.cancel !== 0 && chunk.cancel !== 1) {
        throw new ProtocolViolation(`a file chunk with cancel = ${chunk.cancel}`);
      }
      if (chunk.cancel === 1) {
        this.transfer = 'received';
        throw new UploadCancelled();
      }
      if (chunk.data.byteLength === 0) {
        this.transfer = 'received';
        return;
      }
      yield chunk.data;
    }
  }

  /**
   * Stops a FileIn transfer the daemon cannot take (the file cannot be opened or written):
   * sends the cancel flag, then drops the chunks the library sends until it has seen it.
   */
  async cancelReceive(): Promise<void> {
    if (this.transfer !== 'receiving') return;
    await this.connection.sendFlag(GUESTFS_CANCEL_FLAG);
    try {
      for await (const _ of this.receive()) {
        // dropped
      }
    } catch (e) {
      if (!(e instanceof UploadCancelled)) throw e;
    }
  }

  /** Set by the dispatcher: sends the OK reply that must come before a FileOut's chunks. */
  sendOkReply: () => Promise<void> = () => Promise.reject(new Error('no reply to send'));

  /** Starts a FileOut transfer: the OK reply goes now; after it, only chunks. */
  async startSending(): Promise<void> {
    if (this.transfer !== 'none' || !this.procedure.fileOut) {
      throw new Error(`${this.procedure.name}: not a FileOut call, or already sending`);
    }
    await this.sendOkReply();
    this.transfer = 'sending';
  }

  /**
   * Sends file data as chunks of at most 8 KiB. Returns false when the library has cancelled
   * the transfer (the cancel chunk is then sent): stop, and send nothing more.
   */
  async send(data: Uint8Array): Promise<boolean> {
    if (this.transfer !== 'sending') throw new Error(`${this.procedure.name}: not sending`);
    for (let at = 0; at < data.byteLength; at += GUESTFS_MAX_CHUNK_SIZE) {
      if (this.connection.takeCancel()) {
        await this.sendChunk(1, new Uint8Array(0));
        this.transfer = 'sent';
        return false;
      }
      await this.sendChunk(0, data.subarray(at, at + GUESTFS_MAX_CHUNK_SIZE));
    }
    return true;
  }

  /** Ends a FileOut transfer: an empty chunk, cancel 0 (complete) or 1 (failed midway). */
  async endSending(cancel: 0 | 1): Promise<void> {
    if (this.transfer !== 'sending') return;
    this.transfer = 'sent';
    await this.sendChunk(cancel, new Uint8Array(0));
  }

  private sendChunk(cancel: 0 | 1, data: Uint8Array): Promise<void> {
    const w = new XdrWriter(data.byteLength + 12);
    guestfsChunk.encode(w, { cancel, data });
    return this.connection.send(w.finish());
  }
}
