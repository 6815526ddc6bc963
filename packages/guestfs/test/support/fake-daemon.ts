/**
 * A scripted stand-in for guestfsd on a unix socket, for fast unit tests of framing and
 * errors. It sends the launch flag, then hands each complete message it receives to `script`,
 * which answers with raw bytes (typically captured from the real daemon).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeDaemon {
  readonly socketPath: string;
  /** Every message received (length word included), in order. */
  readonly received: Buffer[];
  stop(): Promise<void>;
}

export async function fakeDaemon(
  script: (message: Buffer, socket: Socket, index: number) => void,
): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tsguestfs-fake-'));
  const socketPath = join(dir, 'sock');
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write(Buffer.from('f5f55ff5', 'hex'));
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        if (pending.byteLength < 4) return;
        const word = pending.readUInt32BE(0);
        const size = word === 0xffffeeee ? 4 : 4 + word;
        if (pending.byteLength < size) return;
        const message = pending.subarray(0, size);
        pending = pending.subarray(size);
        received.push(message);
        script(message, socket, received.length - 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    received,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Hex to bytes, ignoring spaces. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A captured reply with its serial replaced (the serial is at byte 20, after the length). */
export function withSerial(message: Buffer, serial: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt32BE(serial, 20);
  return copy;
}
