import { type Socket, connect as netConnect } from 'node:net';
import { LibvirtTransportError } from '../errors.js';
import type { Transport } from './transport.js';

/** Why a socket could not be opened, said for a user. */
function describeSocketError(
  err: NodeJS.ErrnoException,
  peer: string,
  isUnix: boolean,
): LibvirtTransportError {
  const hint = 'is libvirtd running?';
  switch (err.code ?? '') {
    case 'ENOENT':
      return new LibvirtTransportError('ENOENT', `libvirt socket ${peer} does not exist: ${hint}`, {
        cause: err,
      });
    case 'ECONNREFUSED':
      return new LibvirtTransportError(
        'ECONNREFUSED',
        isUnix
          ? `connection refused on ${peer}: ${hint}`
          : `connection refused by ${peer}: ${hint}`,
        { cause: err },
      );
    case 'EACCES':
      return new LibvirtTransportError('EACCES', `permission denied opening ${peer}`, {
        cause: err,
      });
    case 'ECONNRESET':
    case 'EPIPE':
      return new LibvirtTransportError('CLOSED', `connection to ${peer} lost (reset by the peer)`, {
        cause: err,
      });
    case 'ETIMEDOUT':
      return new LibvirtTransportError('TIMEOUT', `timed out connecting to ${peer}`, {
        cause: err,
      });
    default:
      return new LibvirtTransportError('CLOSED', `connection to ${peer} failed: ${err.message}`, {
        cause: err,
      });
  }
}

/** A unix-domain or TCP socket to libvirtd. Resolves once connected. */
export function openSocket(
  target: { path: string } | { host: string; port: number },
): Promise<Transport> {
  const isUnix = 'path' in target;
  const peer = isUnix ? target.path : `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = isUnix ? netConnect(target.path) : netConnect(target.port, target.host);
    socket.setNoDelay(true);
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(describeSocketError(err, peer, isUnix));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new SocketTransport(socket, peer, isUnix));
    });
  });
}

class SocketTransport implements Transport {
  private closeReason: LibvirtTransportError | null = null;

  constructor(
    private readonly socket: Socket,
    readonly peer: string,
    private readonly isUnix: boolean,
  ) {}

  start(handlers: {
    onData: (chunk: Buffer) => void;
    onClose: (reason: LibvirtTransportError) => void;
  }): void {
    this.socket.on('data', handlers.onData);
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeReason ??= describeSocketError(err, this.peer, this.isUnix);
    });
    this.socket.on('close', () => {
      handlers.onClose(
        this.closeReason ??
          new LibvirtTransportError('CLOSED', `connection to ${this.peer} closed`),
      );
    });
  }

  write(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  onceDrain(callback: () => void): void {
    this.socket.once('drain', callback);
  }

  close(): void {
    this.socket.destroy();
  }
}
