/**
 * connect() against small fake daemons on a unix socket: the authentication branches a real
 * test daemon does not offer (polkit, SASL), a silent peer, a peer that is not libvirt.
 * (Everything else is tested against real libvirtd in test/integration.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XdrReader, XdrWriter, encode } from '@tsvirt/xdr';
import { LibvirtTransportError, connect } from '../../src/index.js';
import { Proc } from '../../src/protocol/procedures.generated.js';
import {
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  messageHeader,
} from '../../src/protocol/wire.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvirt-libvirt-unit-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A daemon that answers each call with `answer(proc)`: a reply body, or null for silence. */
async function fakeDaemon(
  name: string,
  answer: (proc: number) => Uint8Array | null,
  onConnect?: (s: Socket) => void,
): Promise<{ path: string; calls: number[]; server: Server }> {
  const path = join(dir, name);
  const calls: number[] = [];
  const server = createServer((socket) => {
    onConnect?.(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const header = messageHeader.decode(new XdrReader(buf, 4));
        buf = buf.subarray(len);
        if (header.type !== MessageType.VIR_NET_CALL) continue;
        calls.push(header.proc);
        const body = answer(header.proc);
        if (body === null) continue;
        const w = new XdrWriter();
        w.uint(0);
        messageHeader.encode(w, {
          ...header,
          type: MessageType.VIR_NET_REPLY,
          status: MessageStatus.VIR_NET_OK,
        });
        const packet = Buffer.concat([Buffer.from(w.finish()), Buffer.from(body)]);
        packet.writeUInt32BE(packet.length, 0);
        socket.write(packet);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, calls, server };
}

const authList = (types: number[]): Uint8Array => encode(Proc.authList.ret, { types });

void describe('connect handshake', () => {
  void it('does polkit authentication when the daemon asks for it', async () => {
    const d = await fakeDaemon('polkit', (proc) =>
      proc === 66
        ? authList([2])
        : proc === 70
          ? encode(Proc.authPolkit.ret, { complete: 1 })
          : new Uint8Array(0),
    );
    const conn = await connect(`qemu+unix:///system?socket=${d.path}`, { keepalive: false });
    await conn.close();
    d.server.close();
    assert.deepEqual(d.calls, [66, 70, 1, 2]); // AUTH_LIST, AUTH_POLKIT, CONNECT_OPEN, CONNECT_CLOSE
  });

  void it('says plainly that SASL is not supported', async () => {
    const d = await fakeDaemon('sasl', () => authList([1]));
    await assert.rejects(
      connect(`qemu+unix:///system?socket=${d.path}`),
      (e: unknown) =>
        e instanceof LibvirtTransportError &&
        e.code === 'AUTH_UNSUPPORTED' &&
        /requires SASL authentication/.test(e.message),
    );
    d.server.close();
  });

  void it('gives up on a silent peer after connectTimeoutMs', async () => {
    const d = await fakeDaemon('silent', () => null);
    await assert.rejects(
      connect(`qemu+unix:///system?socket=${d.path}`, { connectTimeoutMs: 300 }),
      (e: unknown) =>
        e instanceof LibvirtTransportError &&
        e.code === 'TIMEOUT' &&
        /timed out after 0.3 s/.test(e.message),
    );
    d.server.close();
  });

  void it('recognises a peer that is not libvirt', async () => {
    const d = await fakeDaemon(
      'ssh-banner',
      () => null,
      (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'),
    );
    await assert.rejects(
      connect(`qemu+unix:///system?socket=${d.path}`),
      (e: unknown) => e instanceof LibvirtTransportError && e.code === 'PROTOCOL',
    );
    d.server.close();
  });

  void it('uses the read-only flag and program numbers of the remote protocol', async () => {
    let openArgs: Buffer | null = null;
    const d = await fakeDaemon(
      'ro',
      (proc) => (proc === 66 ? authList([0]) : new Uint8Array(0)),
      (s) => {
        s.on('data', (chunk: Buffer) => {
          const h = messageHeader.decode(new XdrReader(chunk, 4));
          assert.equal(h.prog, REMOTE_PROGRAM);
          if (h.proc === 1) openArgs = chunk.subarray(28);
        });
      },
    );
    const conn = await connect(`test+unix:///default?socket=${d.path}`, {
      readOnly: true,
      keepalive: false,
    });
    await conn.close();
    d.server.close();
    assert.deepEqual(
      openArgs,
      Buffer.from(encode(Proc.connectOpen.args, { name: 'test:///default', flags: 1 })),
    );
  });

  void it('is not held by pipes that outlive ssh (an OpenSSH master keeps them)', async () => {
    // Stands for ssh with connection sharing: its pipes are held by another process (the
    // master) that lives on after ssh is gone, and nothing answers.
    const fake = join(dir, 'fake-ssh');
    const holder = join(dir, 'holder.pid');
    writeFileSync(fake, `#!/bin/sh\nsleep 30 &\necho $! > ${holder}\nwait\n`, { mode: 0o755 });
    const started = Date.now();
    try {
      await assert.rejects(
        connect('qemu+ssh://root@node/system', {
          connectTimeoutMs: 500,
          ssh: { command: fake },
        }),
        (e: unknown) => e instanceof LibvirtTransportError && e.code === 'TIMEOUT',
      );
      assert.ok(Date.now() - started < 5000, `connect took ${Date.now() - started} ms`);
    } finally {
      process.kill(Number(readFileSync(holder, 'utf8')), 'SIGKILL');
    }
  });
});
