// Memory stays bounded whatever a client does: clients that pipeline large reads and never
// read the replies get no more reads issued once their share is waiting for the socket,
// and other clients are served meanwhile. Measured on the real tsnbd process (VmRSS).
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Cmd, Opt, REQUEST_MAGIC, Rep } from '../../src/protocol/constants.js';
import {
  procStatusBytes,
  rawSession,
  requireTools,
  run,
  startTsnbd,
  tempDir,
  uriOf,
  type Daemon,
} from '../helpers.js';

requireTools('nbdinfo', 'qemu-io');

const MiB = 1 << 20;
const SIZE = 32 * MiB;
const PIPELINED = 64;

function request(type: number, i: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(i + 1), 8);
  b.writeBigUInt64BE(BigInt((i % 8) * SIZE), 16);
  b.writeUInt32BE(SIZE, 24);
  return b;
}

/** A connection after GO that reads nothing more. */
async function deafClient(socket: string, structured: boolean): Promise<net.Socket> {
  const session = await rawSession(socket);
  if (structured) assert.equal(await session.option(Opt.STRUCTURED_REPLY), Rep.ACK);
  assert.equal(await session.option(Opt.GO, Buffer.alloc(6)), Rep.ACK);
  session.reader.detach();
  session.s.pause();
  return session.s;
}

/** A client that sends 64 READs of 32 MiB and never reads a reply. */
async function stuckReader(socket: string, structured: boolean): Promise<net.Socket> {
  const s = await deafClient(socket, structured);
  s.write(Buffer.concat(Array.from({ length: PIPELINED }, (_, i) => request(Cmd.READ, i))));
  return s;
}

/** A client that sends 64 WRITEs of 32 MiB as fast as the server takes them. */
async function writeFlood(socket: string): Promise<net.Socket> {
  const s = await deafClient(socket, true);
  const payload = Buffer.alloc(SIZE, 0x5a); // the same buffer queued 64 times
  for (let i = 0; i < PIPELINED; i++) {
    s.write(request(Cmd.WRITE, i));
    s.write(payload);
  }
  return s;
}

/** The largest VmRSS seen over `ms`. */
async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = 0;
  for (const end = Date.now() + ms; Date.now() < end;) {
    peak = Math.max(peak, procStatusBytes(pid, 'VmRSS'));
    await sleep(50);
  }
  return peak;
}

void describe('memory bounds', () => {
  const tmp = tempDir();
  let server: Daemon;
  let baseline = 0;
  // A fresh server per case, so that memory another case left for the collector to free
  // does not count. One worker: every client is served by the process measured.
  beforeEach(async () => {
    server = await startTsnbd(tmp.dir, ['--workers=1', 'pattern', '1G']);
    // Warm up (code, buffers) with a normal client before taking the baseline.
    const warm = await run('qemu-io', [
      '-r',
      '-f',
      'raw',
      '-c',
      'read 0 32M',
      uriOf(server.socket),
    ]);
    assert.equal(warm.code, 0, warm.stderr);
    baseline = procStatusBytes(server.child.pid!, 'VmRSS');
  });
  afterEach(() => server.stop());
  after(() => tmp.cleanup());

  for (const clients of [1, 4]) {
    void it(`${clients} client(s) pipelining 64 reads of 32 MiB without reading: RSS under baseline + 100 MB, others still served`, async () => {
      const stuck = await Promise.all(
        Array.from({ length: clients }, () => stuckReader(server.socket, true)),
      );
      try {
        const peak = await peakRss(server.child.pid!, 3000);
        const grown = (peak - baseline) / MiB;
        const message = `RSS grew by ${grown.toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB)`;
        process.stderr.write(`memory bounds, ${clients} stuck client(s): ${message}\n`);
        assert.ok(grown < 100, message);
        // A normal client meanwhile: map and read.
        const uri = uriOf(server.socket);
        const map = await run('nbdinfo', ['--map', uri]);
        assert.equal(map.code, 0, map.stderr);
        assert.match(map.stdout, /^\s+0\s+1073741824\s+0\s+data$/m);
        const read = await run('qemu-io', ['-r', '-f', 'raw', '-c', 'read 512M 16M', uri]);
        assert.equal(read.code, 0, read.stderr);
        assert.match(read.stdout, /read 16777216\/16777216 bytes/);
        assert.ok(
          stuck.every((s) => !s.destroyed),
          'the stuck clients are still connected',
        );
      } finally {
        for (const s of stuck) s.destroy();
      }
    });
  }

  void it('a stuck client without structured replies holds one 32 MiB read at most', async () => {
    // Simple replies cannot be cut into chunks: each reply is one maximum-size read.
    const stuck = await stuckReader(server.socket, false);
    try {
      const grown = ((await peakRss(server.child.pid!, 2000)) - baseline) / MiB;
      assert.ok(grown < 64, `RSS grew by ${grown.toFixed(0)} MiB`);
    } finally {
      stuck.destroy();
    }
  });

  // One 32 MiB payload with the plugin, the next one arriving, the pool's buffers and the
  // socket's chunks not yet collected: about 100 MiB, and no more however many writes queue.
  void it('a client flooding writes of 32 MiB to a slow plugin: RSS under baseline + 150 MB', async () => {
    const slow = await startTsnbd(tmp.dir, [
      '--workers=1',
      '--filter=delay',
      'null',
      '1G',
      'wdelay=1',
    ]);
    const pid = slow.child.pid!;
    try {
      const start = procStatusBytes(pid, 'VmRSS');
      const flooding = await writeFlood(slow.socket);
      const grown = ((await peakRss(pid, 3000)) - start) / MiB;
      process.stderr.write(`memory bounds, a write flood: RSS grew by ${grown.toFixed(0)} MiB\n`);
      assert.ok(grown < 150, `RSS grew by ${grown.toFixed(0)} MiB`);
      const info = await run('nbdinfo', ['--size', uriOf(slow.socket)]);
      assert.equal(info.stdout.trim(), String(1 << 30), info.stderr);
      flooding.destroy();
    } finally {
      await slow.stop();
    }
  });
});
