/**
 * The daemon's main loop and its channels: send the launch flag, then serve calls one at a
 * time until the library closes the channel.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { GUESTFS_LAUNCH_FLAG } from '../protocol/xdr.generated.js';
import type { DaemonState } from './call.js';
import { type Channel, ChannelClosed, LibraryConnection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import type { Handlers } from './handler.js';
import { log } from './run.js';

/** Serves calls on the channel until the library closes it. */
export async function serve(
  channel: Channel,
  state: DaemonState,
  handlers: Handlers,
): Promise<void> {
  const connection = new LibraryConnection(channel);
  const dispatcher = new Dispatcher(connection, state, handlers);
  await connection.sendFlag(GUESTFS_LAUNCH_FLAG);
  log.uptime('launch flag sent');
  try {
    for (;;) {
      const frame = await connection.next();
      // A cancel flag after the call it was for has finished: ignored, as guestfsd does.
      if (frame.kind === 'message') await dispatcher.serve(frame.data);
    }
  } catch (e) {
    if (!(e instanceof ChannelClosed)) throw e;
  } finally {
    await channel.close();
  }
}

/**
 * The virtio-serial port in the appliance, a character device: read and written with plain
 * read(2)/write(2) (libuv treats it as a file, so reads wait in its thread pool).
 */
export async function openPort(path: string): Promise<Channel> {
  const handle = await open(path, 'r+');
  const input = handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: false });
  let writing = Promise.resolve();
  return {
    input,
    write(data) {
      writing = writing.then(() => writeAll(handle, data));
      return writing;
    },
    async close() {
      input.destroy();
      await writing.catch(() => undefined);
      await handle.close();
    },
  };
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.byteLength;) {
    const { bytesWritten } = await handle.write(data, at, data.byteLength - at, null);
    at += bytesWritten;
  }
}

/**
 * Listens on a unix socket and serves the first connection (guestfsd's --listen, for running
 * on a host without an appliance: tests, and libguestfs's `unix:` backend).
 */
export async function listenOnce(path: string): Promise<Channel> {
  await rm(path, { force: true });
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  server.close();
  return socketChannel(socket);
}

function socketChannel(socket: Socket): Channel {
  socket.on('error', () => undefined); // the end of input says it
  return {
    input: socket,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (socket.write(data)) return resolve();
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', closed);
          resolve();
        };
        const closed = (): void => {
          socket.off('drain', done);
          reject(new ChannelClosed('the library closed the channel'));
        };
        socket.once('drain', done);
        socket.once('close', closed);
      }),
    // Once what was written has gone: the library need not close its end first (after a
    // protocol violation it may be waiting for more).
    close: () =>
      new Promise((resolve) => {
        if (socket.destroyed) return resolve();
        socket.end(() => {
          socket.destroy();
          resolve();
        });
      }),
  };
}
