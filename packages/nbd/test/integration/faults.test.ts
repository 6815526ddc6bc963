// Bad clients and bad plugins: the server answers with errors or closes the one connection,
// and keeps serving everyone else.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient } from '../../src/client/client.js';
import { NbdError } from '../../src/errors.js';
import { Cmd, CmdFlag } from '../../src/protocol/constants.js';
import {
  FIXTURES,
  requireTools,
  run,
  startTsnbd,
  tempDir,
  uriOf,
  type Daemon,
} from '../helpers.js';

requireTools('nbdinfo');

/** Opens a raw connection, sends `bytes`, and waits until the server closes or 200 ms pass. */
function rawSession(socket: string, bytes: Buffer, closeEarly: boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    const done = () => {
      s.destroy();
      resolve();
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => undefined);
    s.on('connect', () => {
      s.write(bytes);
      if (closeEarly) s.end();
      setTimeout(done, 200).unref();
    });
  });
}

async function expectErrno(work: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => err instanceof NbdError && err.code === code);
}

void describe('faults', () => {
  const tmp = tempDir();
  let memory: Daemon;
  let faulty: Daemon;
  before(async () => {
    memory = await startTsnbd(tmp.dir, ['memory', '16M']);
    faulty = await startTsnbd(tmp.dir, [
      '--request-timeout=1',
      join(FIXTURES, 'faulty-plugin.mjs'),
    ]);
  });
  after(async () => {
    await memory.stop();
    await faulty.stop();
    tmp.cleanup();
  });

  const stillServes = async () => {
    const r = await run('nbdinfo', ['--size', uriOf(memory.socket)]);
    assert.equal(r.stdout.trim(), String(16 << 20), r.stderr);
  };

  void it('survives 1000 malformed handshakes', async () => {
    const kinds = [
      () => randomBytes(1 + Math.floor(Math.random() * 64)), // garbage
      () => Buffer.from([0, 0, 0, 3]), // flags then nothing
      () => Buffer.from([0xff, 0xff, 0xff, 0xff]), // unknown client flags
      () => Buffer.concat([Buffer.from([0, 0, 0, 3]), randomBytes(16)]), // bad option magic
      () => {
        // IHAVEOPT with a huge length
        const b = Buffer.alloc(20);
        b.writeUInt32BE(3, 0);
        b.write('IHAVEOPT', 4);
        b.writeUInt32BE(7, 12);
        b.writeUInt32BE(0xfffffff0, 16);
        return b;
      },
      () => {
        // GO with a truncated payload claiming a long name
        const b = Buffer.alloc(28);
        b.writeUInt32BE(3, 0);
        b.write('IHAVEOPT', 4);
        b.writeUInt32BE(7, 12);
        b.writeUInt32BE(8, 16);
        b.writeUInt32BE(1000, 20);
        return b;
      },
    ];
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          rawSession(memory.socket, kinds[(i + j) % kinds.length]!(), j % 2 === 0),
        ),
      );
    }
    await stillServes();
  });

  void it('answers unknown options with ERR_UNSUP and keeps negotiating', async () => {
    // nbdinfo negotiates after our answer to its options; an extra unknown option first.
    const client = await NbdClient.connect({ socket: memory.socket });
    assert.equal(client.size, 16 << 20);
    await client.close();
  });

  for (const extendedHeaders of [false, true]) {
    const kind = extendedHeaders ? 'extended' : 'compact';
    void it(`rejects out-of-range, oversize, unknown and misflagged requests (${kind} headers)`, async () => {
      const c = await NbdClient.connect({ socket: memory.socket, extendedHeaders });
      assert.equal(c.details.extended, extendedHeaders);
      const size = c.size;
      await expectErrno(c.pread(Buffer.alloc(4096), size - 100), 'EINVAL');
      await expectErrno(c.pwrite(Buffer.alloc(4096), size), 'ENOSPC');
      await expectErrno(c.zero(4096, size - 2048), 'ENOSPC');
      await expectErrno(c.trim(4096, size - 2048), 'EINVAL');
      await expectErrno(c.cache(4096, size - 2048), 'EINVAL');
      await expectErrno(c.request(Cmd.READ, 0, 64 << 20), 'EOVERFLOW');
      await expectErrno(c.request(Cmd.WRITE, 0, 33 << 20, 0, Buffer.alloc(33 << 20)), 'EINVAL');
      await expectErrno(c.request(99, 0, 512), 'EINVAL');
      await expectErrno(c.request(Cmd.READ, 0, 512, CmdFlag.REQ_ONE), 'EINVAL');
      await expectErrno(c.request(Cmd.READ, 0, 0), 'EINVAL');
      await expectErrno(c.request(Cmd.READ, 2 ** 60, 512), 'EINVAL');
      // After all that the same connection still works, with many requests in flight.
      const data = randomBytes(1 << 20);
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          c.pwrite(data.subarray(i << 16, (i + 1) << 16), i << 16),
        ),
      );
      const back = Buffer.alloc(1 << 20);
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          c.pread(back.subarray(i << 16, (i + 1) << 16), i << 16),
        ),
      );
      assert.ok(back.equals(data));
      await c.close();
      await stillServes();
    });
  }

  void it('survives clients that disconnect mid-request', async () => {
    for (let i = 0; i < 20; i++) {
      const c = await NbdClient.connect({ socket: memory.socket });
      // Send a write header with only part of its payload, then vanish.
      const header = Buffer.alloc(28);
      header.writeUInt32BE(0x25609513, 0);
      header.writeUInt16BE(Cmd.WRITE, 6);
      header.writeUInt32BE(1 << 20, 24);
      const reads = Array.from({ length: 8 }, (_, j) =>
        c.pread(Buffer.alloc(1 << 20), j << 20).catch(() => undefined),
      );
      (c as unknown as { socket: net.Socket }).socket.write(
        Buffer.concat([header, randomBytes(1000)]),
      );
      (c as unknown as { socket: net.Socket }).socket.destroy();
      await Promise.all(reads);
    }
    await stillServes();
  });

  void it('turns plugin exceptions and hangs into EIO, for that request only', async () => {
    const c = await NbdClient.connect({ socket: faulty.socket });
    const other = await NbdClient.connect({ socket: faulty.socket });
    const hang = expectErrno(c.pread(Buffer.alloc(512), 4096), 'EIO');
    await expectErrno(c.pread(Buffer.alloc(512), 0), 'EIO');
    await expectErrno(c.pread(Buffer.alloc(512), 8192), 'EIO');
    const buf = Buffer.alloc(512);
    await other.pread(buf, 65536);
    assert.ok(buf.every((b) => b === 0xaa));
    await hang; // the request timeout (1 s) answers it
    await c.pread(buf, 16384);
    await c.close();
    await other.close();
    assert.equal(faulty.child.exitCode, null);
  });
});
