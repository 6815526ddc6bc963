/** The RPC engine against a scripted peer: framing, serials, errors, drops, keepalive, streams. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrReader, XdrWriter, encode } from '@tsvirt/xdr';
import { LibvirtError, LibvirtStream, LibvirtTransportError, StreamHole } from '../../src/index.js';
import { Proc } from '../../src/protocol/procedures.generated.js';
import {
  type MessageHeader,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  messageHeader,
  messageError,
  streamHole,
} from '../../src/protocol/wire.js';
import { RpcClient } from '../../src/rpc/client.js';
import type { Transport } from '../../src/transport/transport.js';

/** A transport whose peer is the test: it sees what the client writes and feeds bytes back. */
class ScriptedPeer implements Transport {
  readonly peer = 'scripted';
  readonly sent: { header: MessageHeader; body: Buffer }[] = [];
  private onData: ((chunk: Buffer) => void) | null = null;
  private onClose: ((e: LibvirtTransportError) => void) | null = null;
  closed = false;

  start(h: { onData: (chunk: Buffer) => void; onClose: (e: LibvirtTransportError) => void }): void {
    this.onData = h.onData;
    this.onClose = h.onClose;
  }
  write(data: Uint8Array): boolean {
    const buf = Buffer.from(data);
    assert.equal(buf.readUInt32BE(0), buf.length, 'length word counts the whole packet');
    this.sent.push({ header: messageHeader.decode(new XdrReader(buf, 4)), body: buf.subarray(28) });
    return true;
  }
  onceDrain(cb: () => void): void {
    cb();
  }
  close(): void {
    this.drop(new LibvirtTransportError('CLOSED', 'closed'));
  }
  drop(e: LibvirtTransportError): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.(e);
  }
  feed(bytes: Uint8Array): void {
    this.onData?.(Buffer.from(bytes));
  }
  static packet(header: MessageHeader, body: Uint8Array): Buffer {
    const w = new XdrWriter();
    w.uint(0);
    messageHeader.encode(w, header);
    const head = Buffer.from(w.finish());
    const p = Buffer.concat([head, Buffer.from(body)]);
    p.writeUInt32BE(p.length, 0);
    return p;
  }
  reply(
    serial: number,
    proc: number,
    body: Uint8Array,
    status: MessageStatus = MessageStatus.VIR_NET_OK,
  ): Buffer {
    return ScriptedPeer.packet(
      { prog: REMOTE_PROGRAM, vers: 1, proc, type: MessageType.VIR_NET_REPLY, serial, status },
      body,
    );
  }
}

const hostnameReply = (name: string): Uint8Array =>
  encode(Proc.connectGetHostname.ret, { hostname: name });

void describe('RpcClient', () => {
  void it('matches replies to calls by serial, in any order, across split packets', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const a = rpc.call(Proc.connectGetHostname, undefined);
    const b = rpc.call(Proc.connectGetHostname, undefined);
    assert.deepEqual(
      peer.sent.map((p) => [p.header.serial, p.header.proc, p.header.type]),
      [
        [1, 59, 0],
        [2, 59, 0],
      ],
    );
    const both = Buffer.concat([
      peer.reply(2, 59, hostnameReply('second')),
      peer.reply(1, 59, hostnameReply('first')),
    ]);
    for (let i = 0; i < both.length; i += 7) peer.feed(both.subarray(i, i + 7)); // dribbled in
    assert.deepEqual(await Promise.all([a, b]), [{ hostname: 'first' }, { hostname: 'second' }]);
  });

  void it('an error reply becomes a LibvirtError with code, domain and message', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const call = rpc.call(Proc.domainLookupByName, { name: 'x' });
    const err = encode(messageError, {
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'x'",
      level: 2,
      dom: null,
      str1: null,
      str2: null,
      str3: null,
      int1: 0,
      int2: 0,
      net: null,
    });
    peer.feed(peer.reply(1, 23, err, MessageStatus.VIR_NET_ERROR));
    await assert.rejects(
      call,
      (e: unknown) =>
        e instanceof LibvirtError &&
        e.code === 42 &&
        e.codeName === 'VIR_ERR_NO_DOMAIN' &&
        e.procedure === 'DOMAIN_LOOKUP_BY_NAME',
    );
  });

  void it('a reply that does not decode rejects that call as a protocol error', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const call = rpc.call(Proc.connectGetHostname, undefined);
    peer.feed(peer.reply(1, 59, new Uint8Array([0, 0, 0, 9, 1])));
    await assert.rejects(
      call,
      (e: unknown) =>
        e instanceof LibvirtTransportError &&
        e.code === 'PROTOCOL' &&
        /CONNECT_GET_HOSTNAME/.test(e.message),
    );
  });

  void it('a connection lost rejects every pending call, and later calls at once', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const calls = [
      rpc.call(Proc.nodeGetInfo, undefined),
      rpc.call(Proc.connectGetHostname, undefined),
    ];
    peer.drop(
      new LibvirtTransportError(
        'SSH_FAILED',
        'ssh: connect to host 127.0.2.14 port 22: Connection refused',
      ),
    );
    for (const c of calls) await assert.rejects(c, /Connection refused/);
    await assert.rejects(
      rpc.call(Proc.connectGetHostname, undefined),
      (e: unknown) => e instanceof LibvirtTransportError && e.code === 'SSH_FAILED',
    );
  });

  void it('garbage from the peer closes the connection with a protocol error', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const call = rpc.call(Proc.connectGetHostname, undefined);
    peer.feed(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
    await assert.rejects(
      call,
      (e: unknown) =>
        e instanceof LibvirtTransportError &&
        e.code === 'PROTOCOL' &&
        /not libvirt's protocol/.test(e.message),
    );
    assert.equal(peer.closed, true);
  });

  void it('answers keepalive PINGs with PONGs', () => {
    const peer = new ScriptedPeer();
    new RpcClient(peer);
    peer.feed(
      ScriptedPeer.packet(
        {
          prog: 0x6b656570,
          vers: 1,
          proc: 1,
          type: MessageType.VIR_NET_MESSAGE,
          serial: 0,
          status: 0,
        },
        new Uint8Array(0),
      ),
    );
    assert.deepEqual(
      peer.sent.map((p) => [p.header.prog, p.header.proc, p.header.type]),
      [[0x6b656570, 2, MessageType.VIR_NET_MESSAGE]],
    );
  });

  void it('keepalive pings an idle peer, then gives up after count unanswered pings', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const closed = new Promise<LibvirtTransportError>((resolve) => rpc.onClose(resolve));
    rpc.startKeepalive(20, 2);
    const hold = setInterval(() => {}, 1000); // the keepalive timer is unref'd: keep the test alive
    const e = await closed;
    clearInterval(hold);
    assert.equal(e.code, 'TIMEOUT');
    assert.match(e.message, /keepalive timeout/);
    assert.equal(
      peer.sent.filter((p) => p.header.prog === 0x6b656570 && p.header.proc === 1).length,
      2,
    );
  });

  void it('routes stream packets by serial and events by procedure', async () => {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const got: [number, string][] = [];
    const events: Buffer[] = [];
    rpc.onEvent(318, (b) => events.push(Buffer.from(b)));
    const { serial, reply } = rpc.callWithStream(
      Proc.domainOpenConsole,
      {
        dom: { name: 'd', uuid: '00000000-0000-0000-0000-000000000001', id: 1 },
        devName: null,
        flags: 0,
      },
      {
        onPacket: (status, body) => got.push([status, Buffer.from(body).toString()]),
        onHole: () => {},
        onConnectionLost: () => {},
      },
    );
    const stream = (status: MessageStatus, body: string): Buffer =>
      ScriptedPeer.packet(
        {
          prog: REMOTE_PROGRAM,
          vers: 1,
          proc: 201,
          type: MessageType.VIR_NET_STREAM,
          serial,
          status,
        },
        Buffer.from(body),
      );
    peer.feed(
      Buffer.concat([
        stream(MessageStatus.VIR_NET_CONTINUE, 'he'),
        peer.reply(serial, 201, new Uint8Array(0)),
        stream(MessageStatus.VIR_NET_CONTINUE, 'llo'),
      ]),
    );
    peer.feed(
      ScriptedPeer.packet(
        {
          prog: REMOTE_PROGRAM,
          vers: 1,
          proc: 318,
          type: MessageType.VIR_NET_MESSAGE,
          serial: 0,
          status: 0,
        },
        Buffer.from('evnt'),
      ),
    );
    await reply;
    assert.deepEqual(got, [
      [MessageStatus.VIR_NET_CONTINUE, 'he'],
      [MessageStatus.VIR_NET_CONTINUE, 'llo'],
    ]);
    assert.deepEqual(
      events.map((e) => e.toString()),
      ['evnt'],
    );
  });
});

void describe('LibvirtStream', () => {
  /** A stream opened the way the connection opens one (the call has serial 1). */
  function open(sparse = false): {
    peer: ScriptedPeer;
    stream: LibvirtStream;
    packet: (status: MessageStatus, body: string | Uint8Array) => Buffer;
    statuses: () => number[];
  } {
    const peer = new ScriptedPeer();
    const rpc = new RpcClient(peer);
    const stream = new LibvirtStream(rpc, { number: 208, name: 'STORAGE_VOL_UPLOAD' }, sparse);
    const vol = { pool: 'default', name: 'v', key: '/v' };
    const args = { vol, offset: 0n, length: 0n, flags: 0 };
    const { serial } = rpc.callWithStream(Proc.storageVolUpload, args, stream);
    stream.attach(serial);
    peer.feed(peer.reply(serial, 208, new Uint8Array(0)));
    const header = {
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc: 208,
      type: MessageType.VIR_NET_STREAM,
      serial,
    };
    return {
      peer,
      stream,
      packet: (status, body) =>
        ScriptedPeer.packet(
          { ...header, status },
          typeof body === 'string' ? Buffer.from(body) : body,
        ),
      statuses: () =>
        peer.sent
          .filter((p) => p.header.type === MessageType.VIR_NET_STREAM)
          .map((p) => p.header.status),
    };
  }
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  void it('sends written bytes raw (no XDR padding), in bounded packets, then finish', async () => {
    const { peer, stream, packet, statuses } = open();
    const data = Buffer.alloc(300_001, 0xab); // more than one packet, not a multiple of 4
    stream.write(data);
    const done = stream.finish();
    await tick();
    const { VIR_NET_CONTINUE: CONTINUE, VIR_NET_OK: OK } = MessageStatus;
    assert.deepEqual(statuses(), [CONTINUE, CONTINUE, OK]);
    const sent = peer.sent.filter((p) => p.header.type === MessageType.VIR_NET_STREAM);
    assert.ok(Buffer.concat(sent.map((p) => p.body)).equals(data));
    peer.feed(packet(OK, '')); // the daemon confirms
    await done;
  });

  void it('an empty data packet ends a read stream, which then sends its finish', async () => {
    const { peer, stream, packet, statuses } = open();
    peer.feed(
      Buffer.concat([
        packet(MessageStatus.VIR_NET_CONTINUE, 'abc'),
        packet(MessageStatus.VIR_NET_CONTINUE, ''),
      ]),
    );
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'abc');
    await tick();
    assert.deepEqual(statuses(), [MessageStatus.VIR_NET_OK]); // finish, and no abort after it
  });

  void it('an error packet from the daemon destroys the stream with the LibvirtError', async () => {
    const { peer, stream, packet } = open();
    const failed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    const message = 'cannot write: No space left on device';
    const nulls = { dom: null, str1: null, str2: null, str3: null, net: null };
    const body = encode(messageError, {
      code: 38,
      domain: 18,
      message,
      level: 2,
      int1: 0,
      int2: 0,
      ...nulls,
    });
    peer.feed(packet(MessageStatus.VIR_NET_ERROR, body));
    const e = await failed;
    assert.ok(e instanceof LibvirtError && e.code === 38 && e.message === message);
  });

  void it('a sparse stream sends a hole as a STREAM_HOLE packet, in order with the data', async () => {
    const { peer, stream, packet } = open(true);
    stream.write(Buffer.from('ab'));
    stream.write(new StreamHole(1n << 33n));
    stream.write(Buffer.from('cd'));
    const done = stream.finish();
    await tick();
    const sent = peer.sent.filter(
      (p) => p.header.serial === 1 && p.header.type !== MessageType.VIR_NET_CALL,
    );
    assert.deepEqual(
      sent.map((p) => [p.header.type, p.header.status]),
      [
        [MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_CONTINUE],
        [MessageType.VIR_NET_STREAM_HOLE, MessageStatus.VIR_NET_CONTINUE],
        [MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_CONTINUE],
        [MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_OK],
      ],
    );
    // virNetStreamHole: hyper length, unsigned int flags.
    assert.equal(sent[1]!.body.toString('hex'), '0000000200000000' + '00000000');
    peer.feed(packet(MessageStatus.VIR_NET_OK, ''));
    await done;
  });

  void it('a hole from the daemon is read as a StreamHole between the data', async () => {
    const { peer, stream, packet } = open(true);
    const hole = ScriptedPeer.packet(
      {
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc: 208,
        type: MessageType.VIR_NET_STREAM_HOLE,
        serial: 1,
        status: MessageStatus.VIR_NET_CONTINUE,
      },
      encode(streamHole, { length: 4096n, flags: 0 }),
    );
    peer.feed(
      Buffer.concat([
        packet(MessageStatus.VIR_NET_CONTINUE, 'x'),
        hole,
        packet(MessageStatus.VIR_NET_CONTINUE, 'y'),
        packet(MessageStatus.VIR_NET_CONTINUE, ''),
      ]),
    );
    const chunks: (Buffer | StreamHole)[] = [];
    for await (const c of stream) chunks.push(c as Buffer | StreamHole);
    assert.deepEqual(
      chunks.map((c) => (c instanceof StreamHole ? c.length : c.toString())),
      ['x', 4096n, 'y'],
    );
  });

  void it('a hole written to a stream that is not sparse fails the stream, not the process', async () => {
    const { stream } = open();
    const failed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    stream.write(new StreamHole(10n));
    assert.match(String(await failed), /STORAGE_VOL_UPLOAD: a hole in a stream that is not sparse/);
  });

  void it('abort tells the daemon and ends the stream locally', async () => {
    const { stream, statuses } = open();
    await stream.abort();
    assert.deepEqual(statuses(), [MessageStatus.VIR_NET_ERROR]);
    assert.equal(stream.destroyed, true);
  });
});
