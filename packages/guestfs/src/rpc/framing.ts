import { XdrReader } from '@tsvirt/xdr';
import {
  GUESTFS_CANCEL_FLAG,
  GUESTFS_LAUNCH_FLAG,
  GUESTFS_MESSAGE_MAX,
  GUESTFS_PROGRESS_FLAG,
  type GuestfsProgress,
  guestfsProgress,
} from '../protocol/xdr.generated.js';

/** What the daemon sends: a message, or one of the three flags in place of a length word. */
export type Frame =
  | { readonly kind: 'message'; readonly data: Buffer }
  | { readonly kind: 'launch' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'progress'; readonly progress: GuestfsProgress };

/** guestfs_progress is always 24 bytes after its flag. */
const PROGRESS_SIZE = 24;

/**
 * Cuts the daemon's byte stream into frames: a 4-byte big-endian length then that many bytes
 * of XDR, or a flag word (launch, cancel, progress + 24 bytes). Anything else (a length above
 * GUESTFS_MESSAGE_MAX that is not a flag) is not the guestfs protocol.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes still wanted for the current frame's body, and what it is. */
  private pending: { kind: 'message' | 'progress'; size: number } | null = null;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    private readonly onGarbage: (detail: string) => void,
  ) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.byteLength;
    for (;;) {
      if (this.pending === null) {
        if (this.buffered < 4) return;
        const word = this.take(4).readUInt32BE(0);
        if (word === GUESTFS_LAUNCH_FLAG) this.onFrame({ kind: 'launch' });
        else if (word === GUESTFS_CANCEL_FLAG) this.onFrame({ kind: 'cancel' });
        else if (word === GUESTFS_PROGRESS_FLAG)
          this.pending = { kind: 'progress', size: PROGRESS_SIZE };
        else if (word <= GUESTFS_MESSAGE_MAX) this.pending = { kind: 'message', size: word };
        else {
          this.onGarbage(
            `a length word of 0x${word.toString(16)} (more than GUESTFS_MESSAGE_MAX, and not a flag)`,
          );
          return;
        }
        continue;
      }
      if (this.buffered < this.pending.size) return;
      const body = this.take(this.pending.size);
      const kind = this.pending.kind;
      this.pending = null;
      if (kind === 'message') this.onFrame({ kind: 'message', data: body });
      else
        this.onFrame({ kind: 'progress', progress: guestfsProgress.decode(new XdrReader(body)) });
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) {
      // The common case: no copy.
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = all.byteLength > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
