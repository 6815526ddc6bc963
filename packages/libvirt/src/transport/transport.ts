import type { LibvirtTransportError } from '../errors.js';

/**
 * A byte pipe to a libvirt daemon: a unix or TCP socket, or the stdin/stdout of an ssh process.
 * The RPC client needs nothing else from it.
 */
export interface Transport {
  /** Who is at the other end, for messages: a socket path, `host:port`, `user@host`. */
  readonly peer: string;
  /** Start delivering data; `onClose` is called exactly once, with why the pipe closed. */
  start(handlers: {
    onData: (chunk: Buffer) => void;
    onClose: (reason: LibvirtTransportError) => void;
  }): void;
  /** Queue bytes; false means "wait for drain before writing more". */
  write(data: Uint8Array): boolean;
  onceDrain(callback: () => void): void;
  /** Close the pipe; onClose follows. */
  close(): void;
}
