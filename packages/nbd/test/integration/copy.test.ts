// The client library and `tsnbd copy`, against nbdkit and tsnbd servers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbdClient } from '../../src/client/client.js';
import {
  TSNBD,
  captive,
  requireTools,
  run,
  sha256File,
  startTsnbd,
  tempDir,
  uriOf,
  makeSparseFile,
} from '../helpers.js';

requireTools('nbdkit', 'nbdinfo');

void describe('client and tsnbd copy', () => {
  const tmp = tempDir();
  const sparse = join(tmp.dir, 'sparse.img');
  before(() => {
    makeSparseFile(sparse, '32M', [
      { bs: '1M', count: 2, seek: 3 },
      { bs: '64k', count: 1, seek: 400 },
    ]);
  });
  after(() => tmp.cleanup());

  void it('file -> nbdkit memory -> file keeps bytes and holes', async () => {
    const back = join(tmp.dir, 'back.img');
    const r = await captive(
      'nbdkit',
      ['memory', '32M'],
      `TSNBD_COPY_SUMMARY=1 ${process.execPath} ${TSNBD} copy ${sparse} "$uri" && TSNBD_COPY_SUMMARY=1 ${process.execPath} ${TSNBD} copy "$uri" ${back} && nbdinfo --map "$uri"`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256File(back), sha256File(sparse));
    // Only the 2 MiB + 64 KiB of data were copied as data, both ways.
    assert.match(r.stderr, /copied 33554432 bytes: 2162688 data, 31391744 zero/);
    assert.match(r.stdout, /^\s+0\s+3145728\s+3\s+hole,zero$/m);
    assert.ok(statSync(back).blocks * 512 < 4 << 20, 'destination file stays sparse');
  });

  void it('written zeroes are found and not written: the new file has holes there', async () => {
    const src = join(tmp.dir, 'data-then-zeroes.img');
    const dst = join(tmp.dir, 'data-then-zeroes.copy');
    writeFileSync(src, Buffer.concat([randomBytes(3 << 20), Buffer.alloc(29 << 20)]));
    const r = await run(process.execPath, [TSNBD, 'copy', src, dst], 60_000, {
      ...process.env,
      TSNBD_COPY_SUMMARY: '1',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /copied 33554432 bytes: 3145728 data, 30408704 zero/);
    assert.equal(sha256File(dst), sha256File(src));
    assert.ok(statSync(dst).blocks * 512 < 4 << 20, 'the zeroes were not written');
  });

  void it('a full destination filesystem fails the copy in one line and leaves no file', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
    const mnt = join(tmp.dir, 'small');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=80m', 'tmpfs', mnt]);
    try {
      // More than one writeback interval (64 MiB) fits before the filesystem is full.
      const src = join(tmp.dir, 'random-96m.img');
      writeFileSync(src, randomBytes(96 << 20));
      const dst = join(mnt, 'copy.img');
      const r = await run(process.execPath, [TSNBD, 'copy', src, dst]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^tsnbd: .*copy\.img: ENOSPC: no space left on device/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(readdirSync(mnt), [], 'the destination it created is removed');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  void it('a source server killed mid-copy fails the copy in one line and leaves no file', async () => {
    const server = await startTsnbd(tmp.dir, ['pattern', '8G']);
    const dst = join(tmp.dir, 'from-killed.img');
    const copying = run(process.execPath, [TSNBD, 'copy', uriOf(server.socket), dst]);
    await sleep(1000); // 8 GiB take longer than that here
    server.child.kill('SIGKILL');
    const r = await copying;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^tsnbd: the peer closed the connection/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(dst), 'the destination it created is removed');
  });

  void it('NBD to NBD with several connections (multi-conn)', async () => {
    const src = await startTsnbd(tmp.dir, [
      'sparse-random',
      '64M',
      'seed=7',
      'percent=30',
      'runlength=1M',
    ]);
    const dst = await startTsnbd(tmp.dir, ['memory', '64M']);
    try {
      const r = await run(process.execPath, [
        TSNBD,
        'copy',
        '-C',
        '4',
        uriOf(src.socket),
        uriOf(dst.socket),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const a = await run('sh', ['-c', `nbdcopy "${uriOf(src.socket)}" - | sha256sum`]);
      const b = await run('sh', ['-c', `nbdcopy "${uriOf(dst.socket)}" - | sha256sum`]);
      assert.equal(a.stdout, b.stdout);
    } finally {
      await src.stop();
      await dst.stop();
    }
  });
});

void describe('client against a real nbdkit', () => {
  void it('reads, writes, zeroes and maps with many requests in flight', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'nbdkit.sock');
    const pidFile = join(tmp.dir, 'pid');
    execFileSync('nbdkit', ['-U', socket, '-P', pidFile, 'memory', '8M']);
    try {
      const c = await NbdClient.connect({ socket });
      assert.equal(c.size, 8 << 20);
      const data = randomBytes(4 << 20);
      await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          c.pwrite(data.subarray(i << 16, (i + 1) << 16), i << 16),
        ),
      );
      await c.zero(1 << 20, 1 << 20);
      await c.flush();
      const back = Buffer.alloc(4 << 20);
      await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          c.pread(back.subarray(i << 16, (i + 1) << 16), i << 16),
        ),
      );
      data.fill(0, 1 << 20, 2 << 20);
      assert.ok(back.equals(data));
      const map = await c.blockStatus(8 << 20, 0);
      assert.equal(map[map.length - 1]!.type & 1, 1, 'the unwritten end is a hole');
      await c.close();
    } finally {
      process.kill(Number(execFileSync('cat', [pidFile]).toString()));
      tmp.cleanup();
    }
  });
});
