// readIntoSlabs on real sockets (a unix socket server accepting with pauseOnConnect, as
// tsnbd's does): every byte arrives in order, chunks stay valid after later reads (slabs are
// never reused), a read takes more than Node's 64 KiB, pause() stops reading, and the end
// and the close of the connection are seen.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readIntoSlabs } from '../../src/server/socket-input.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnbd-socket-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

/** A server whose one connection goes through readIntoSlabs; `client` gets the client side. */
async function connected(): Promise<{
  server: net.Server;
  socket: net.Socket;
  client: net.Socket;
}> {
  const path = join(dir, `s${serial++}`);
  let accepted: (socket: net.Socket) => void = () => undefined;
  const arrived = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted(readIntoSlabs(s)));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = net.connect(path);
  const socket = await arrived;
  return { server, socket, client };
}

void describe('readIntoSlabs', () => {
  void it('delivers every byte in order, in chunks that stay as they were read', async () => {
    const { server, socket, client } = await connected();
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    const sent = randomBytes(24 << 20);
    client.end(sent);
    await ended;
    assert.ok(Buffer.concat(chunks).equals(sent), 'the bytes read are the bytes sent');
    assert.ok(
      chunks.some((c) => c.length > 64 * 1024),
      `some read took more than 64 KiB (largest: ${Math.max(...chunks.map((c) => c.length))})`,
    );
    socket.end();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  void it('stops reading while paused and goes on when resumed; writes work', async () => {
    const { server, socket, client } = await connected();
    let received = 0;
    let paused = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= 1 << 20 && !paused) {
        paused = true;
        socket.pause();
      }
    });
    client.write(Buffer.alloc(8 << 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whilePaused = received;
    assert.ok(whilePaused < 8 << 20, `reading stopped (${whilePaused} bytes read)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(received, whilePaused, 'nothing read while paused');
    const reply = new Promise<Buffer>((resolve) => client.once('data', resolve));
    socket.write('ok');
    assert.equal((await reply).toString(), 'ok');
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    client.end();
    socket.resume();
    await ended;
    assert.equal(received, 8 << 20);
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
