// Extended headers (NBD_OPT_EXTENDED_HEADERS): our client against tsnbd, since the peers
// installed here (libnbd 1.14, qemu 7.2, nbdkit 1.32) predate them. nbdkit shows the
// fallback: it refuses the option and the client carries on with structured replies.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExtentType, type Extent } from '../../src/api.js';
import { NbdClient } from '../../src/client/client.js';
import { NbdError } from '../../src/errors.js';
import {
  Cmd,
  EXTENDED_REPLY_MAGIC,
  EXTENDED_REQUEST_MAGIC,
  IHAVEOPT,
  Opt,
  REQUEST_MAGIC,
  Rep,
  ReplyFlag,
  ReplyType,
} from '../../src/protocol/constants.js';
import { readU64, writeU64 } from '../../src/protocol/wire.js';
import {
  rawSession,
  requireTools,
  startTsnbd,
  tempDir,
  type Daemon,
  type RawSession,
} from '../helpers.js';

requireTools('nbdkit');

const GiB = 2 ** 30;
/** Large enough that extents and effect lengths need more than 32 bits. */
const BIG = 12 * GiB;
/** The longest request a compact header can carry, rounded down to the memory page. */
const COMPACT_STEP = 4 * GiB - 32768;

async function expectErrno(work: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => err instanceof NbdError && err.code === code);
}

/** Extents of [0, size) asked in compact-sized steps, neighbours of one type merged. */
async function mapInSteps(c: NbdClient, size: number): Promise<Extent[]> {
  const all: Extent[] = [];
  for (let at = 0; at < size;) {
    const got = await c.blockStatus(Math.min(COMPACT_STEP, size - at), at);
    assert.ok(got.length > 0);
    for (const e of got) {
      const last = all[all.length - 1];
      if (last && last.type === e.type && last.offset + last.length === e.offset) {
        last.length += e.length;
      } else all.push({ ...e });
      at = e.offset + e.length;
    }
  }
  return all;
}

/** A raw connection that negotiates extended headers (or not), then GO. */
async function rawConnect(socket: string, extended: boolean): Promise<RawSession> {
  const session = await rawSession(socket);
  if (extended) assert.equal(await session.option(Opt.EXTENDED_HEADERS), Rep.ACK);
  assert.equal(await session.option(Opt.GO, Buffer.alloc(6)), Rep.ACK);
  return session;
}

function extendedRequest(type: number, cookie: bigint, offset: number, length: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(EXTENDED_REQUEST_MAGIC, 0);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(cookie, 8);
  writeU64(b, offset, 16);
  writeU64(b, length, 24);
  return b;
}

void describe('extended headers', () => {
  const tmp = tempDir();
  let big: Daemon;
  before(async () => {
    big = await startTsnbd(tmp.dir, ['memory', String(BIG)]);
  });
  after(async () => {
    await big.stop();
    tmp.cleanup();
  });

  void it('are negotiated by our client unless turned off', async () => {
    const ext = await NbdClient.connect({ socket: big.socket });
    assert.equal(ext.details.extended, true);
    assert.equal(ext.details.baseAllocation, true);
    const compact = await NbdClient.connect({ socket: big.socket, extendedHeaders: false });
    assert.equal(compact.details.extended, false);
    assert.equal(compact.details.structured, true);
    await ext.close();
    await compact.close();
  });

  void it('take precedence over structured replies during negotiation', async () => {
    const a = await rawSession(big.socket);
    assert.equal(await a.option(Opt.EXTENDED_HEADERS, Buffer.alloc(4)), Rep.ERR_INVALID);
    assert.equal(await a.option(Opt.STRUCTURED_REPLY), Rep.ACK);
    assert.equal(await a.option(Opt.EXTENDED_HEADERS), Rep.ACK, 'after structured replies');
    assert.equal(await a.option(Opt.EXTENDED_HEADERS), Rep.ERR_INVALID, 'twice');
    assert.equal(await a.option(Opt.STRUCTURED_REPLY), Rep.ERR_EXT_HEADER_REQD);
    // EXPORT_NAME is forbidden now: the server hangs up rather than answer it.
    const name = Buffer.alloc(16);
    name.writeBigUInt64BE(IHAVEOPT, 0);
    name.writeUInt32BE(Opt.EXPORT_NAME, 8);
    a.s.write(name);
    await a.closed;
  });

  void it('fall back to structured replies against nbdkit 1.32, which refuses them', async () => {
    const socket = join(tmp.dir, 'nbdkit.sock');
    const child = spawn('nbdkit', ['-f', '-U', socket, 'memory', '1M'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && !existsSync(socket); i++) {
        await sleep(25);
      }
      const c = await NbdClient.connect({ socket });
      assert.equal(c.details.extended, false);
      assert.equal(c.details.structured, true);
      const data = randomBytes(8192);
      await c.pwrite(data, 4096);
      const back = Buffer.alloc(8192);
      await c.pread(back, 4096);
      assert.ok(back.equals(data));
      assert.ok((await c.blockStatus(1 << 20, 0)).length > 0);
      await c.close();
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  void it('read, write, zero and trim with 64-bit lengths; block status matches compact', async () => {
    const c = await NbdClient.connect({ socket: big.socket });
    const compact = await NbdClient.connect({ socket: big.socket, extendedHeaders: false });
    // Data on both sides of the 4 GiB boundary and far beyond it.
    const across = randomBytes(1 << 20);
    const far = randomBytes(65536);
    await c.pwrite(across, 4 * GiB - (1 << 19));
    await c.pwrite(far, 9 * GiB);
    await c.pwrite(far, 11 * GiB);
    const back = Buffer.alloc(1 << 20);
    await c.pread(back, 4 * GiB - (1 << 19));
    assert.ok(back.equals(across));
    await compact.pread(back, 4 * GiB - (1 << 19));
    assert.ok(back.equals(across), 'the compact client reads what the extended one wrote');
    await c.flush();

    // One extended request answers for the whole export, with extents over 4 GiB long.
    const whole = await c.blockStatus(BIG, 0);
    assert.deepEqual(whole, [
      { offset: 0, length: 4 * GiB - (1 << 19), type: ExtentType.HOLE_ZERO },
      { offset: 4 * GiB - (1 << 19), length: 1 << 20, type: ExtentType.DATA },
      { offset: 4 * GiB + (1 << 19), length: 5 * GiB - (1 << 19), type: ExtentType.HOLE_ZERO },
      { offset: 9 * GiB, length: 65536, type: ExtentType.DATA },
      { offset: 9 * GiB + 65536, length: 2 * GiB - 65536, type: ExtentType.HOLE_ZERO },
      { offset: 11 * GiB, length: 65536, type: ExtentType.DATA },
      { offset: 11 * GiB + 65536, length: GiB - 65536, type: ExtentType.HOLE_ZERO },
    ]);
    assert.deepEqual(await mapInSteps(compact, BIG), whole);
    assert.equal((await c.blockStatus(BIG, 0, true)).length, 1);

    // A zero and a trim each longer than 4 GiB (effect lengths, no payload).
    await c.zero(5 * GiB, 4 * GiB);
    await c.trim(5 * GiB, 7 * GiB);
    const after = await c.blockStatus(BIG, 0);
    assert.deepEqual(after, [
      { offset: 0, length: 4 * GiB - (1 << 19), type: ExtentType.HOLE_ZERO },
      { offset: 4 * GiB - (1 << 19), length: 1 << 19, type: ExtentType.DATA },
      { offset: 4 * GiB, length: 8 * GiB, type: ExtentType.HOLE_ZERO },
    ]);
    assert.deepEqual(await mapInSteps(compact, BIG), after);
    const farBack = Buffer.alloc(65536, 0xff);
    await c.pread(farBack, 11 * GiB);
    assert.ok(farBack.every((b) => b === 0));
    await c.close();
    await compact.close();
  });

  void it('refuse reads over 4 GiB with EOVERFLOW and keep the connection', async () => {
    const c = await NbdClient.connect({ socket: big.socket });
    await expectErrno(c.request(Cmd.READ, 0, 4 * GiB + 4096), 'EOVERFLOW');
    await expectErrno(c.request(Cmd.READ, 0, 2 ** 60), 'EOVERFLOW');
    await expectErrno(c.request(Cmd.CACHE, 0, 2 ** 60), 'EINVAL');
    await expectErrno(c.zero(BIG, 4096), 'ENOSPC');
    // A command that takes no payload, sent with one: consumed, then EINVAL.
    await expectErrno(c.request(Cmd.FLUSH, 0, 16, 0, Buffer.alloc(16)), 'EINVAL');
    const compact = await NbdClient.connect({ socket: big.socket, extendedHeaders: false });
    await expectErrno(compact.trim(5 * GiB, 0), 'EINVAL'); // compact headers cannot say it
    await compact.close();
    const one = Buffer.alloc(4096);
    await c.pread(one, 0);
    await c.close();
  });

  void it('replies carry the request offset in the 32-byte extended form', async () => {
    const { s, reader } = await rawConnect(big.socket, true);
    s.write(extendedRequest(Cmd.READ, 7n, 8 * GiB, 512));
    const header = await reader.read(32);
    assert.equal(header.readUInt32BE(0), EXTENDED_REPLY_MAGIC);
    assert.equal(header.readUInt16BE(4), ReplyFlag.DONE);
    assert.equal(header.readUInt16BE(6), ReplyType.OFFSET_DATA);
    assert.equal(header.readBigUInt64BE(8), 7n);
    assert.equal(readU64(header, 16), 8 * GiB);
    assert.equal(readU64(header, 24), 8 + 512);
    assert.equal(readU64(await reader.read(520), 0), 8 * GiB);
    // An error echoes the offset as sent, even one past 2^53.
    const far = extendedRequest(Cmd.READ, 9n, 0, 512);
    far.writeBigUInt64BE(2n ** 63n + 1n, 16);
    s.write(far);
    const error = await reader.read(32);
    assert.equal(error.readUInt16BE(6), ReplyType.ERROR);
    assert.equal(error.readBigUInt64BE(8), 9n);
    assert.equal(error.readBigUInt64BE(16), 2n ** 63n + 1n);
    const body = await reader.read(Number(error.readBigUInt64BE(24)));
    assert.equal(body.readUInt32BE(0), 22); // EINVAL
    s.write(extendedRequest(Cmd.FLUSH, 8n, 0, 0));
    const done = await reader.read(32);
    assert.equal(done.readUInt32BE(0), EXTENDED_REPLY_MAGIC, 'no simple reply, even empty');
    assert.equal(done.readUInt16BE(6), ReplyType.NONE);
    assert.equal(readU64(done, 24), 0);
    s.destroy();
  });

  void it('a client sending the wrong header kind is disconnected; others go on', async () => {
    const other = await NbdClient.connect({ socket: big.socket });
    const data = randomBytes(4096);
    await other.pwrite(data, 0);

    const cases: Array<[boolean, Buffer]> = [];
    // Compact request after extended headers were negotiated.
    const compactHeader = Buffer.alloc(28);
    compactHeader.writeUInt32BE(REQUEST_MAGIC, 0);
    compactHeader.writeUInt32BE(512, 24);
    cases.push([true, compactHeader]);
    // Extended request without negotiating them.
    cases.push([false, extendedRequest(Cmd.READ, 1n, 0, 512)]);
    // A write whose payload no block size allows (over 4 GiB).
    const hugeWrite = extendedRequest(Cmd.WRITE, 2n, 0, 4 * GiB + 1);
    hugeWrite.writeUInt16BE(1 << 5, 4); // NBD_CMD_FLAG_PAYLOAD_LEN
    cases.push([true, hugeWrite]);
    for (const [extended, bytes] of cases) {
      const { s, closed } = await rawConnect(big.socket, extended);
      let answered = 0;
      s.on('data', (chunk: Buffer) => (answered += chunk.length));
      s.write(bytes);
      await closed;
      assert.equal(answered, 0, 'no reply, the connection is closed');
    }

    const back = Buffer.alloc(4096);
    await other.pread(back, 0);
    assert.ok(back.equals(data));
    await other.close();
  });
});
