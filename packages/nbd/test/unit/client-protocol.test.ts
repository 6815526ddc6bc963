// Our client against a scripted server that speaks raw NBD bytes and breaks the protocol in
// one way per case: each must end in a clear protocol error (never a hang, a crash or a
// silently wrong result), and `copy` from such a server must fail the same way.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient } from '../../src/client/client.js';
import { copyDisk } from '../../src/copy/copy.js';
import { ProtocolError } from '../../src/errors.js';
import {
  BASE_ALLOCATION,
  Cmd,
  IHAVEOPT,
  Info,
  NBDMAGIC,
  OPT_REPLY_MAGIC,
  Opt,
  Rep,
  ReplyFlag,
  ReplyType,
  STRUCTURED_REPLY_MAGIC,
  TFlag,
} from '../../src/protocol/constants.js';
import { StreamReader } from '../../src/protocol/reader.js';
import { tempDir } from '../helpers.js';

const SIZE = 1 << 20;

interface Request {
  type: number;
  cookie: bigint;
  offset: number;
  length: number;
}

/** What the scripted server answers to one request: raw bytes to send. */
type Script = (request: Request) => Buffer[];

function optionReply(option: number, type: number, body = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(20);
  b.writeBigUInt64BE(OPT_REPLY_MAGIC, 0);
  b.writeUInt32BE(option, 8);
  b.writeUInt32BE(type, 12);
  b.writeUInt32BE(body.length, 16);
  return Buffer.concat([b, body]);
}

function chunk(flags: number, type: number, cookie: bigint, body: Buffer): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(cookie, 8);
  b.writeUInt32BE(body.length, 16);
  return Buffer.concat([b, body]);
}

function dataChunk(cookie: bigint, offset: number, data: Buffer, done = true): Buffer {
  const body = Buffer.alloc(8 + data.length);
  body.writeBigUInt64BE(BigInt(offset), 0);
  data.copy(body, 8);
  return chunk(done ? ReplyFlag.DONE : 0, ReplyType.OFFSET_DATA, cookie, body);
}

function extentsChunk(cookie: bigint, extents: [number, number][]): Buffer {
  const body = Buffer.alloc(4 + 8 * extents.length);
  body.writeUInt32BE(1, 0); // the context id the server gave base:allocation
  extents.forEach(([length, type], i) => {
    body.writeUInt32BE(length, 4 + 8 * i);
    body.writeUInt32BE(type, 8 + 8 * i);
  });
  return chunk(ReplyFlag.DONE, ReplyType.BLOCK_STATUS, cookie, body);
}

/** Negotiates like a plain structured-reply server, then answers requests with `script`. */
async function serve(socket: net.Socket, script: Script): Promise<void> {
  const reader = new StreamReader(socket);
  const greeting = Buffer.alloc(18);
  greeting.writeBigUInt64BE(NBDMAGIC, 0);
  greeting.writeBigUInt64BE(IHAVEOPT, 8);
  greeting.writeUInt16BE(3, 16);
  socket.write(greeting);
  await reader.read(4);
  for (;;) {
    const header = await reader.read(16);
    const option = header.readUInt32BE(8);
    await reader.read(header.readUInt32BE(12));
    if (option === Opt.STRUCTURED_REPLY) socket.write(optionReply(option, Rep.ACK));
    else if (option === Opt.SET_META_CONTEXT) {
      const context = Buffer.alloc(4 + BASE_ALLOCATION.length);
      context.writeUInt32BE(1, 0);
      context.write(BASE_ALLOCATION, 4);
      socket.write(optionReply(option, Rep.META_CONTEXT, context));
      socket.write(optionReply(option, Rep.ACK));
    } else if (option === Opt.GO) {
      const info = Buffer.alloc(12);
      info.writeUInt16BE(Info.EXPORT, 0);
      info.writeBigUInt64BE(BigInt(SIZE), 2);
      info.writeUInt16BE(TFlag.HAS_FLAGS | TFlag.READ_ONLY, 10);
      socket.write(optionReply(option, Rep.INFO, info));
      socket.write(optionReply(option, Rep.ACK));
      break;
    } else socket.write(optionReply(option, Rep.ERR_UNSUP));
  }
  for (;;) {
    const r = await reader.read(28);
    const request = {
      type: r.readUInt16BE(6),
      cookie: r.readBigUInt64BE(8),
      offset: Number(r.readBigUInt64BE(16)),
      length: r.readUInt32BE(24),
    };
    if (request.type === Cmd.DISC) return;
    for (const bytes of script(request)) socket.write(bytes);
  }
}

/** A server on a private unix socket, answering every connection with `script`. */
async function scriptedServer(
  dir: string,
  script: Script,
): Promise<{ path: string; close(): void }> {
  const path = join(dir, `scripted-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    serve(socket, script).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, close: () => server.close() };
}

/** A correct answer to READ and BLOCK_STATUS, for the cases that break only one of them. */
const honest: Script = (r) =>
  r.type === Cmd.READ
    ? [dataChunk(r.cookie, r.offset, Buffer.alloc(r.length, 0xab))]
    : [extentsChunk(r.cookie, [[r.length, 0]])];

function expectViolation(pattern: RegExp) {
  return (err: unknown) =>
    err instanceof ProtocolError &&
    /the server broke the NBD protocol/.test(err.message) &&
    pattern.test(err.message);
}

void describe('client against a misbehaving server', () => {
  const tmp = tempDir();
  const servers: { close(): void }[] = [];
  const start = async (script: Script) => {
    const s = await scriptedServer(tmp.dir, script);
    servers.push(s);
    return NbdClient.connect({ socket: s.path });
  };
  before(() => assert.ok(existsSync(tmp.dir)));
  after(() => {
    for (const s of servers) s.close();
    tmp.cleanup();
  });

  void it('the scripted server itself is understood when it follows the protocol', async () => {
    const c = await start(honest);
    const buf = Buffer.alloc(4096);
    await c.pread(buf, 8192);
    assert.ok(buf.every((b) => b === 0xab));
    assert.deepEqual(await c.blockStatus(65536, 0), [{ offset: 0, length: 65536, type: 0 }]);
    await c.close();
  });

  void it('zero-length extents', async () => {
    const c = await start((r) => [extentsChunk(r.cookie, [[0, 0]])]);
    await assert.rejects(c.blockStatus(65536, 0), expectViolation(/zero-length extent/));
    // The connection is closed: later requests fail with the same error, at once.
    await assert.rejects(c.pread(Buffer.alloc(512), 0), expectViolation(/zero-length/));
  });

  void it('extents past the request or past the end of the export', async () => {
    const past = await start((r) => [
      extentsChunk(r.cookie, [
        [r.length, 0],
        [4096, 3],
      ]),
    ]);
    await assert.rejects(past.blockStatus(65536, 0), expectViolation(/past the request/));
    const beyond = await start((r) => [extentsChunk(r.cookie, [[SIZE * 2, 0]])]);
    await assert.rejects(beyond.blockStatus(65536, 0), expectViolation(/passes the end/));
  });

  void it('data chunks outside the request', async () => {
    const before = await start((r) => [
      dataChunk(r.cookie, r.offset - 512, Buffer.alloc(r.length)),
    ]);
    await assert.rejects(
      before.pread(Buffer.alloc(4096), 8192),
      expectViolation(/outside the request \(8192\+4096\)/),
    );
    const long = await start((r) => [dataChunk(r.cookie, r.offset, Buffer.alloc(r.length + 1))]);
    await assert.rejects(
      long.pread(Buffer.alloc(4096), 8192),
      expectViolation(/reply chunk of 4105 bytes/),
    );
  });

  void it('a READ reply that leaves part of the buffer unfilled', async () => {
    const c = await start((r) => [dataChunk(r.cookie, r.offset, Buffer.alloc(r.length / 2))]);
    await assert.rejects(c.pread(Buffer.alloc(4096), 0), expectViolation(/covered 2048 of 4096/));
  });

  void it('replies to unknown cookies', async () => {
    const c = await start((r) => [dataChunk(r.cookie + 1000n, r.offset, Buffer.alloc(r.length))]);
    await assert.rejects(c.pread(Buffer.alloc(4096), 0), expectViolation(/unknown cookie 1001/));
  });

  void it('a data chunk in reply to BLOCK_STATUS, extents in reply to READ', async () => {
    const swapped: Script = (r) =>
      r.type === Cmd.READ
        ? [extentsChunk(r.cookie, [[r.length, 0]])]
        : [dataChunk(r.cookie, r.offset, Buffer.alloc(16))];
    const a = await start(swapped);
    await assert.rejects(a.blockStatus(4096, 0), expectViolation(/other than READ/));
    const b = await start(swapped);
    await assert.rejects(b.pread(Buffer.alloc(16), 0), expectViolation(/unexpected block status/));
  });

  void it('copy fails with the protocol error instead of looping when extents do not advance', async () => {
    const s = await scriptedServer(tmp.dir, (r) =>
      r.type === Cmd.BLOCK_STATUS ? [extentsChunk(r.cookie, [[0, 3]])] : honest(r),
    );
    servers.push(s);
    const uri = `nbd+unix:///?socket=${s.path}`;
    const copy = join(tmp.dir, 'copy.img');
    await assert.rejects(copyDisk(uri, copy), expectViolation(/zero-length/));
    assert.ok(!existsSync(copy), 'the destination the copy created is removed');
  });
});
