// The RPC layer against Debian's own guestfsd run on the host (no appliance: seconds). The
// daemon's sysroot is `/`, so every path is inside the test's private directory.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  type Guestfs,
  GuestfsCancelledError,
  GuestfsConnectionError,
  GuestfsError,
  type Progress,
} from '../../src/index.js';
import { type StandaloneDaemon, connectStandalone } from '../support/standalone.js';

void describe('against guestfsd (standalone, on the host)', () => {
  let g: Guestfs;
  let daemon: StandaloneDaemon;
  const path = (name: string): string => join(daemon.dir, name);

  before(async () => ({ g, daemon } = await connectStandalone()));
  after(async () => {
    await g.close();
    await daemon.stop();
  });

  void it('answers a call with arguments', async () => {
    assert.equal(await g.echoDaemon(['hello', 'world']), 'hello world');
  });

  void it('reports errors with the errno name, and stays usable', async () => {
    await assert.rejects(g.readFile(path('missing')), (e: unknown) => {
      assert.ok(e instanceof GuestfsError);
      assert.equal(e.errno, 'ENOENT');
      assert.match(e.message, /^download: .*\/missing: No such file or directory$/);
      return true;
    });
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('uploads and downloads files of awkward sizes through paths', async () => {
    for (const size of [0, 1, 8191, 8192, 8193, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(size);
      writeFileSync(path('in'), data);
      await g.upload(path('in'), path('remote'));
      assert.deepEqual(readFileSync(path('remote')), data, `upload of ${size} bytes`);
      await g.download(path('remote'), path('out'));
      assert.deepEqual(readFileSync(path('out')), data, `download of ${size} bytes`);
    }
  });

  void it('uploads from a Readable and downloads to a Writable', async () => {
    const parts = [randomBytes(10_000), randomBytes(1), randomBytes(70_000)];
    await g.upload(Readable.from(parts), path('streamed'));
    const received: Buffer[] = [];
    await g.download(
      path('streamed'),
      new Writable({
        write(chunk: Buffer, _e, done) {
          received.push(Buffer.from(chunk));
          done();
        },
      }),
    );
    assert.deepEqual(Buffer.concat(received), Buffer.concat(parts));
  });

  void it('writes, appends, lists and greps with optional arguments', async () => {
    await g.writeFile(path('w.txt'), 'Hello\n');
    await g.writeAppend(path('w.txt'), 'hello again\n');
    assert.deepEqual(await g.readLines(path('w.txt')), ['Hello', 'hello again']);
    assert.deepEqual(await g.grep('hello', path('w.txt')), ['hello again']);
    assert.deepEqual(await g.grep('HELLO', path('w.txt'), { insensitive: true }), [
      'Hello',
      'hello again',
    ]);
    assert.ok((await g.ls(daemon.dir)).includes('w.txt'));
  });

  void it('cancels an upload from this side; the daemon drops it and the handle stays usable', async () => {
    const controller = new AbortController();
    const source = new PassThrough();
    source.write(randomBytes(100_000));
    const upload = g.with({ signal: controller.signal }).upload(source, path('cancelled'));
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(upload, (e: unknown) => {
      assert.ok(e instanceof GuestfsCancelledError, String(e));
      assert.equal(e.by, 'library');
      return true;
    });
    assert.equal(await g.echoDaemon(['after', 'cancel']), 'after cancel');
  });

  void it('reports a local read error during an upload as a cancellation', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await assert.rejects(g.upload(failing, path('x')), /reading the local file: disk on fire/);
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('sees the daemon cancel an upload it cannot write, with its reason', async () => {
    writeFileSync(path('small'), randomBytes(1_000_000));
    await assert.rejects(g.upload(path('small'), path('no/such/dir/file')), (e: unknown) => {
      assert.ok(e instanceof GuestfsError, String(e));
      assert.equal(e.errno, 'ENOENT');
      return true;
    });
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('cancels a download from this side and stays usable', async () => {
    writeFileSync(path('big'), randomBytes(32 * 1024 * 1024));
    const controller = new AbortController();
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        received += chunk.byteLength;
        if (received > 1_000_000) controller.abort();
        done();
      },
    });
    await assert.rejects(
      g.with({ signal: controller.signal }).download(path('big'), sink),
      (e: unknown) => e instanceof GuestfsCancelledError && e.by === 'library',
    );
    assert.ok(received < 32 * 1024 * 1024);
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('stops a download on a local write error and says so', async () => {
    await assert.rejects(
      g.download(path('big'), join(daemon.dir, 'missing-dir', 'out')),
      /writing the local file: ENOENT/,
    );
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('passes progress messages of a long download to the caller', async () => {
    const seen: Progress[] = [];
    // A slow reader makes the download last past the daemon's first progress message (2 s).
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(_chunk: Buffer, _e, done) {
        setTimeout(done, 1);
      },
    });
    await g.with({ onProgress: (p) => seen.push(p) }).download(path('big'), slow);
    assert.ok(seen.length >= 2, `${seen.length} progress messages`);
    assert.equal(seen.at(-1)?.position, seen.at(-1)?.total);
    assert.equal(seen.at(-1)?.total, 32n * 1024n * 1024n);
  });
});

void describe('guestfsd going away', () => {
  void it('fails the call in flight with CLOSED when the daemon is killed', async () => {
    const { g, daemon } = await connectStandalone();
    try {
      const call = g.sleep(10);
      setTimeout(() => daemon.process.kill('SIGKILL'), 200);
      await assert.rejects(
        call,
        (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'CLOSED',
      );
      assert.equal(g.isOpen, false);
    } finally {
      await g.close();
    }
  });

  void it('times out a long call, closing the connection (and the daemon exits)', async () => {
    const { g, daemon } = await connectStandalone();
    try {
      await assert.rejects(
        g.with({ timeoutMs: 300 }).sleep(10),
        (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'TIMEOUT',
      );
      assert.equal(g.isOpen, false);
    } finally {
      await g.close();
    }
    assert.ok(daemon.process.exitCode !== null || daemon.process.signalCode !== null);
  });
});
