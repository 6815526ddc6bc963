// Accepts connections on a unix socket, a TCP port, inherited listening sockets (systemd
// socket activation) or serves one connection on stdin/stdout.
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { Mutex } from '../mutex.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { readIntoSlabs } from './socket-input.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; port: number; host?: string }
  | { kind: 'fds'; fds: number[] };

export class NbdServer {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Promise<void>>();
  private readonly sockets = new Set<net.Socket>();
  /** Under the 'serializeConnections' model, one connection is served at a time. */
  private readonly connectionLock = new Mutex();

  constructor(private readonly options: ConnectionOptions) {}

  /** Serves one connection over any pair of streams (a socket, stdin/stdout, a test pipe). */
  serveStreams(input: Readable, output: Writable): Promise<void> {
    const duplex = (input as unknown) === output && input instanceof net.Socket ? input : undefined;
    const conn = new Connection(
      duplex ? { input, output, duplex } : { input, output },
      this.options,
    );
    const done =
      this.options.stack.threadModel === 'serializeConnections'
        ? this.connectionLock.run(() => conn.run())
        : conn.run();
    this.connections.add(done);
    void done.finally(() => this.connections.delete(done));
    return done;
  }

  /** Serves an accepted socket (here, or handed over by another process); resolves at its end. */
  serveSocket(accepted: net.Socket): Promise<void> {
    // Without TLS, reads go into large buffers of the connection's own (socket-input.ts);
    // STARTTLS wraps the socket as Node made it.
    const tlsPossible = this.options.tls !== 'off' && this.options.tlsOptions !== undefined;
    const socket = tlsPossible ? accepted : readIntoSlabs(accepted);
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    this.options.log?.(`connection from ${socket.remoteAddress ?? 'unix socket'}`);
    const done = this.serveStreams(socket, socket);
    socket.resume(); // accepted with pauseOnConnect
    return done;
  }

  /**
   * Starts listening; resolves with the TCP port when listening on TCP. Each connection goes
   * to `accept` (default: served here), paused, so that it may be handed to another process.
   */
  async listen(
    address: ListenAddress,
    accept: (socket: net.Socket) => void = (socket) => void this.serveSocket(socket),
  ): Promise<number | undefined> {
    const targets: (net.ListenOptions & { fd?: number })[] =
      address.kind === 'unix'
        ? [{ path: address.path }]
        : address.kind === 'tcp'
          ? [{ port: address.port, ...(address.host ? { host: address.host } : {}) }]
          : address.fds.map((fd) => ({ fd }));
    let port: number | undefined;
    for (const target of targets) {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, accept);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(target, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.options.log?.(`listener error: ${err.message}`));
      const bound = server.address();
      if (bound && typeof bound === 'object') port = bound.port;
      this.servers.push(server);
    }
    return port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening, closes open connections and waits for them to finish. */
  async close(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    for (const socket of this.sockets) socket.destroy();
    await Promise.allSettled([...this.connections]);
  }
}
