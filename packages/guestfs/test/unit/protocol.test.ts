// Framing, codecs and errors against bytes captured from Debian's guestfsd 1.48.6 (run
// standalone, see test/support/standalone.ts), replayed by a scripted fake daemon.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Guestfs,
  GuestfsConnectionError,
  GuestfsError,
  type Progress,
  procedures,
} from '../../src/index.js';
import { type Frame, FrameReader } from '../../src/rpc/framing.js';
import { fakeDaemon, hex, withSerial } from '../support/fake-daemon.js';

// Captured from guestfsd 1.48.6 (`guestfsd -r -l --channel SOCK`).
const CAPTURED = {
  /** echo_daemon(["hello", "world"]), serial 1: what libguestfs's C library sends too. */
  echoCall:
    hex(`00000044 2000f5f5 00000004 000000c3 00000000 00000001 0000000000000000 0000000000000000
    00000000 00000002 00000005 68656c6c 6f000000 00000005 776f726c 64000000`),
  echoReply:
    hex(`00000038 2000f5f5 00000004 000000c3 00000001 00000001 0000000000000000 0000000000000000
    00000000 0000000b 68656c6c 6f20776f 726c6400`),
  /** download("/nonexistent-tsguestfs"): status ERROR, errno ENOENT. */
  errorReply:
    hex(`0000006c 2000f5f5 00000004 00000043 00000001 00000002 0000000000000000 0000000000000000
    00000001 00000006 454e4f45 4e540000 00000031 2f6e6f6e 65786973 74656e74 2d747367 75657374
    66733a20 4e6f2073 75636820 66696c65 206f7220 64697265 63746f72 79000000`),
  /** download of a 3-byte file "abc": the OK reply, one chunk, the empty end chunk. */
  downloadReply:
    hex(`00000028 2000f5f5 00000004 00000043 00000001 00000003 0000000000000000 0000000000000000
    00000000`),
  downloadChunks: hex(`0000000c 00000000 00000003 61626300   00000008 00000000 00000000`),
};

void describe('against bytes captured from guestfsd', () => {
  void it('encodes a call exactly as the C library does, and decodes the reply', async () => {
    const daemon = await fakeDaemon((_m, socket) => socket.write(CAPTURED.echoReply));
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      assert.equal(await g.echoDaemon(['hello', 'world']), 'hello world');
      assert.deepEqual(daemon.received[0], CAPTURED.echoCall);
    } finally {
      await g
        .with({ timeoutMs: 100 })
        .close()
        .catch(() => undefined);
      await daemon.stop();
    }
  });

  void it('turns an error reply into a GuestfsError with the errno name', async () => {
    const daemon = await fakeDaemon((_m, socket) =>
      socket.write(withSerial(CAPTURED.errorReply, 1)),
    );
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      await assert.rejects(g.readFile('/nonexistent-tsguestfs'), (e: unknown) => {
        assert.ok(e instanceof GuestfsError);
        assert.equal(e.errno, 'ENOENT');
        assert.equal(e.procedure, 'download');
        assert.equal(e.message, 'download: /nonexistent-tsguestfs: No such file or directory');
        return true;
      });
      assert.ok(g.isOpen, 'an error reply leaves the handle usable');
    } finally {
      await daemon.stop();
    }
  });

  void it('receives FileOut chunks after the reply, one byte at a time too', async () => {
    const whole = Buffer.concat([withSerial(CAPTURED.downloadReply, 1), CAPTURED.downloadChunks]);
    const daemon = await fakeDaemon((_m, socket) => {
      // Worst-case framing: every byte in its own write.
      let i = 0;
      const next = (): void => {
        if (i < whole.byteLength) socket.write(whole.subarray(i, ++i), next);
      };
      next();
    });
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      assert.equal(await g.cat('/abc'), 'abc');
    } finally {
      await daemon.stop();
    }
  });

  void it('hands progress messages to the call they belong to', async () => {
    const progress = (serial: number, position: number): Buffer => {
      const b = Buffer.alloc(28);
      b.writeUInt32BE(0xffff5555, 0);
      b.writeUInt32BE(67, 4);
      b.writeUInt32BE(serial, 8);
      b.writeBigUInt64BE(BigInt(position), 12);
      b.writeBigUInt64BE(3n, 20);
      return b;
    };
    const daemon = await fakeDaemon((_m, socket) =>
      socket.write(
        Buffer.concat([
          progress(1, 1),
          progress(99, 2), // another call's: dropped
          withSerial(CAPTURED.downloadReply, 1),
          progress(1, 3),
          CAPTURED.downloadChunks,
        ]),
      ),
    );
    const g = await Guestfs.connect(daemon.socketPath);
    const seen: Progress[] = [];
    try {
      await g.with({ onProgress: (p) => seen.push(p) }).readFile('/abc');
      assert.deepEqual(seen, [
        { position: 1n, total: 3n },
        { position: 3n, total: 3n },
      ]);
    } finally {
      await daemon.stop();
    }
  });
});

void describe('a daemon that misbehaves', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['a length word above GUESTFS_MESSAGE_MAX', hex('7fffffff'), /length word of 0x7fffffff/],
    [
      'a reply to another serial',
      withSerial(CAPTURED.echoReply, 7),
      /reply to procedure 195 serial 7, waiting for echo_daemon \(195\) serial 1/,
    ],
    ['a truncated reply body', hex('00000008 2000f5f5 00000004'), /input truncated/],
    [
      'a reply with bytes after its value',
      (() => {
        const r = Buffer.concat([CAPTURED.echoReply, hex('00000000')]);
        r.writeUInt32BE(r.byteLength - 4, 0);
        return r;
      })(),
      /4 bytes after the reply to echo_daemon/,
    ],
  ];
  for (const [what, answer, message] of cases) {
    void it(`closes the handle with a PROTOCOL error on ${what}`, async () => {
      const daemon = await fakeDaemon((_m, socket) => socket.write(answer));
      const g = await Guestfs.connect(daemon.socketPath);
      try {
        await assert.rejects(g.echoDaemon(['x']), (e: unknown) => {
          assert.ok(e instanceof GuestfsConnectionError, String(e));
          assert.equal(e.code, 'PROTOCOL');
          assert.match(e.message, message);
          return true;
        });
        assert.equal(g.isOpen, false);
        // Later calls fail at once with the same reason.
        await assert.rejects(g.echoDaemon(['y']), /not the guestfs protocol/);
      } finally {
        await daemon.stop();
      }
    });
  }

  void it('fails the call in flight and the queued ones when the daemon goes away', async () => {
    const daemon = await fakeDaemon((_m, socket) => socket.destroy());
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      const first = g.echoDaemon(['a']);
      const second = g.echoDaemon(['b']);
      await assert.rejects(
        first,
        (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'CLOSED',
      );
      await assert.rejects(
        second,
        (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'CLOSED',
      );
      assert.equal(daemon.received.length, 1, 'one call in flight at a time');
    } finally {
      await daemon.stop();
    }
  });

  void it('times a call out, closing the handle', async () => {
    const daemon = await fakeDaemon(() => undefined); // never answers
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      await assert.rejects(g.with({ timeoutMs: 50 }).echoDaemon(['a']), (e: unknown) => {
        assert.ok(e instanceof GuestfsConnectionError);
        assert.equal(e.code, 'TIMEOUT');
        assert.match(e.message, /echo_daemon did not finish within 50 ms/);
        return true;
      });
      assert.equal(g.isOpen, false);
    } finally {
      await daemon.stop();
    }
  });

  void it('refuses an optional argument the procedure does not have, sending nothing', async () => {
    const daemon = await fakeDaemon(() => undefined);
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      await assert.rejects(
        g.isFile('/x', { followsymlink: true } as unknown as { followsymlinks: boolean }),
        /is_file has no optional argument "followsymlink" \(it has: followsymlinks\)/,
      );
      assert.equal(daemon.received.length, 0);
    } finally {
      await daemon.stop();
    }
  });
});

void describe('optional arguments', () => {
  void it('are all encoded, the given ones flagged in the bitmask', async () => {
    const daemon = await fakeDaemon(() => undefined);
    const g = await Guestfs.connect(daemon.socketPath);
    try {
      void g.grep('re', '/p', { fixed: true, compressed: true }).catch(() => undefined);
      await sleep(50);
      const call = daemon.received[0]!;
      assert.equal(call.readBigUInt64BE(4 + 28), 0b1010n, 'bits 1 (fixed) and 3 (compressed)');
      // regex, path, then extended false, fixed true, insensitive false, compressed true.
      assert.equal(
        call.subarray(44).toString('hex'),
        '000000027265000000000002' + '2f700000' + '00000000000000010000000000000001',
      );
      assert.equal(
        Object.keys(procedures.grep.optargs).join(),
        'extended,fixed,insensitive,compressed',
      );
    } finally {
      await daemon.stop();
    }
  });
});

void describe('FrameReader', () => {
  void it('finds the same frames whatever the split', () => {
    const stream = Buffer.concat([
      hex('f5f55ff5'),
      CAPTURED.echoReply,
      hex('ffffeeee'),
      CAPTURED.downloadChunks,
    ]);
    const expected: string[] = [];
    new FrameReader((f) => expected.push(describeFrame(f)), assert.fail).push(stream);
    assert.deepEqual(expected, ['launch', 'message:56', 'cancel', 'message:12', 'message:8']);
    for (let cut = 1; cut < stream.byteLength; cut++) {
      const frames: string[] = [];
      const reader = new FrameReader((f) => frames.push(describeFrame(f)), assert.fail);
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      assert.deepEqual(frames, expected, `split at ${cut}`);
    }
  });
});

function describeFrame(f: Frame): string {
  return f.kind === 'message' ? `message:${f.data.byteLength}` : f.kind;
}
