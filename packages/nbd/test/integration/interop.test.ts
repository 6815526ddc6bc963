// tsnbd against real NBD clients: qemu-img, qemu-io, nbdinfo, nbdcopy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FIXTURES,
  TSNBD,
  captive,
  requireTools,
  run,
  sha256File,
  tempDir,
  makeSparseFile,
} from '../helpers.js';

requireTools('nbdinfo', 'nbdcopy', 'qemu-img', 'qemu-io', 'qemu-nbd', 'nbdkit');

void describe('tsnbd with real clients', () => {
  const tmp = tempDir();
  const sparse = join(tmp.dir, 'sparse.img');
  const random = join(tmp.dir, 'random.img');
  before(() => {
    // 8 MiB with data at 1 MiB (192 KiB) and at 5 MiB (64 KiB); the rest holes.
    makeSparseFile(sparse, '8M', [
      { bs: '64k', count: 3, seek: 16 },
      { bs: '64k', count: 1, seek: 80 },
    ]);
    writeFileSync(random, randomBytes(6 << 20));
  });
  after(() => tmp.cleanup());

  void it('nbdinfo --json reports size, capabilities and block sizes', async () => {
    const r = await captive('tsnbd', ['memory', '64M'], 'nbdinfo --json "$uri"');
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as {
      structured: boolean;
      exports: Record<string, unknown>[];
    };
    assert.equal(info.structured, true);
    const e = info.exports[0]!;
    assert.equal(e['export-size'], 64 << 20);
    assert.deepEqual(e.contexts, ['base:allocation']);
    for (const cap of [
      'can_trim',
      'can_zero',
      'can_fua',
      'can_flush',
      'can_multi_conn',
      'can_fast_zero',
    ]) {
      assert.equal(e[cap], true, cap);
    }
    assert.equal(e.is_read_only, false);
    assert.equal(e.block_size_maximum, 32 << 20);
  });

  void it('-r makes the export read-only', async () => {
    const r = await captive('tsnbd', ['-r', 'memory', '1M'], 'nbdinfo --json "$uri"');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"is_read_only": true/);
  });

  void it('nbdinfo --map of a sparse file shows its holes and data, like nbdkit', async () => {
    const ours = await captive('tsnbd', ['file', sparse], 'nbdinfo --map "$uri"');
    const theirs = await captive('nbdkit', ['file', sparse], 'nbdinfo --map "$uri"');
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.match(ours.stdout, /^\s+0\s+1048576\s+3\s+hole,zero$/m);
    assert.match(ours.stdout, /^\s+1048576\s+196608\s+0\s+data$/m);
    assert.match(ours.stdout, /^\s+5242880\s+65536\s+0\s+data$/m);
  });

  void it('qemu-img info, convert and compare', async () => {
    const out = join(tmp.dir, 'converted.img');
    const r = await captive(
      'tsnbd',
      ['memory', '6M'],
      `qemu-img info "$uri" && qemu-img convert -n -f raw -O raw ${random} "$uri" && ` +
        `qemu-img compare -f raw -F raw "$uri" ${random} && qemu-img convert -f raw -O raw "$uri" ${out}`,
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /virtual size: 6 MiB/);
    assert.match(r.stdout, /Images are identical/);
    assert.equal(sha256File(out), sha256File(random));
  });

  void it('qemu-io: parallel aio writes and reads, discard, write -z', async () => {
    const cmds = [
      'aio_write -P 0x11 0 1M',
      'aio_write -P 0x22 1M 1M',
      'aio_write -P 0x33 2M 512k',
      'aio_flush',
      'aio_read -P 0x11 0 1M',
      'aio_read -P 0x22 1M 1M',
      'aio_read -P 0x33 2M 512k',
      'aio_flush',
      'discard 0 64k',
      'read -P 0 0 64k',
      'write -z 1M 64k',
      'read -P 0 1M 64k',
      'read -P 0x22 1088k 960k',
      'write -z -u 2M 64k',
      'read -P 0 2M 64k',
      'write -f -P 0x44 3M 4k',
      'flush',
      'read -P 0x44 3M 4k',
    ];
    const script = `qemu-io -f raw ${cmds.map((c) => `-c '${c}'`).join(' ')} "$uri"`;
    const r = await captive('tsnbd', ['memory', '4M'], script);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /Pattern verification failed|error|failed/i);
    assert.equal((r.stdout.match(/^read /gm) ?? []).length, 8);
  });

  void it('file: discard punches holes and write -z zeroes, with the same map as nbdkit', async () => {
    const run = async (server: 'tsnbd' | 'nbdkit') => {
      const file = join(tmp.dir, `punch-${server}.img`);
      writeFileSync(file, randomBytes(4 << 20));
      const io = `qemu-io -f raw -c 'discard 1M 1M' -c 'write -z 3M 512k' -c 'write -z -u 0 64k' -c 'flush' "$uri" >/dev/null && nbdinfo --map "$uri" && nbdcopy "$uri" - | sha256sum`;
      const r = await captive(server, ['file', file], io);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const ours = await run('tsnbd');
    assert.match(ours, /^\s+1048576\s+1048576\s+3\s+hole,zero$/m);
    // nbdkit's file plugin may answer write -z by writing zeroes rather than punching, so
    // compare the bytes with nbdkit's and the discarded hole only.
    const theirs = await run('nbdkit');
    assert.equal(ours.split('\n').pop(), theirs.split('\n').pop());
    assert.match(theirs, /^\s+1048576\s+1048576\s+3\s+hole,zero$/m);
  });

  void it('32 MiB reads (sent in several chunks) arrive whole in nbdcopy and qemu-img', async () => {
    const cmd =
      'nbdcopy --request-size=33554432 "$uri" - | sha256sum && ' +
      `qemu-img convert -f raw -O raw "$uri" ${join(tmp.dir, 'big.img')} && sha256sum < ${join(tmp.dir, 'big.img')}`;
    const ours = await captive('tsnbd', ['pattern', '96M'], cmd);
    const theirs = await captive('nbdkit', ['pattern', '96M'], 'nbdcopy "$uri" - | sha256sum');
    assert.equal(ours.code, 0, ours.stderr);
    assert.deepEqual(ours.stdout.trim().split('\n'), [theirs.stdout.trim(), theirs.stdout.trim()]);
  });

  void it("file: without Perl's syscall.ph, fallocate(1) punches the holes", async () => {
    // A syscall.ph found first that refuses to load, as on a system without one.
    const shadow = join(tmp.dir, 'no-syscall-ph');
    mkdirSync(shadow);
    writeFileSync(join(shadow, 'syscall.ph'), 'die "no syscall.ph here\\n";\n');
    const file = join(tmp.dir, 'fallocate-command.img');
    writeFileSync(file, randomBytes(4 << 20));
    const edits = `qemu-io -f raw -c 'discard 1M 1M' "$uri" >/dev/null && nbdinfo --map "$uri"`;
    const r = await run(
      process.execPath,
      [TSNBD, '-U', '-', 'file', file, '--run', edits],
      60_000,
      { ...process.env, PERL5LIB: shadow },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+1048576\s+1048576\s+3\s+hole,zero$/m);
    assert.ok(statSync(file).blocks * 512 <= 3 << 20, 'the hole is really punched');
  });

  void it('nbdcopy both ways keeps every byte', async () => {
    const back = join(tmp.dir, 'back.img');
    const r = await captive(
      'tsnbd',
      ['memory', '6M'],
      `nbdcopy ${random} "$uri" && nbdcopy "$uri" ${back}`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256File(back), sha256File(random));
  });

  void it('nbdcopy with socket activation: nbdcopy -- [ tsnbd ... ]', async () => {
    const back = join(tmp.dir, 'activated.img');
    const r = await run('nbdcopy', ['--', '[', process.execPath, TSNBD, 'file', random, ']', back]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256File(back), sha256File(random));
  });

  void it('nbdinfo --list shows the exports of a plugin loaded by path', async () => {
    const r = await captive(
      'tsnbd',
      [join(FIXTURES, 'exports-plugin.mjs')],
      'nbdinfo --list --json "$uri"',
    );
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as {
      exports: { 'export-name': string; 'export-size': number; description?: string }[];
    };
    const got = info.exports.map((e) => [e['export-name'], e['export-size'], e.description]);
    assert.deepEqual(got, [
      ['alpha', 1 << 20, 'the alpha disk'],
      ['beta', 2 << 20, 'the beta disk'],
      ['gamma', 4096, 'the gamma disk'],
    ]);
  });

  void it('qemu-nbd --list shows the exports, descriptions and meta contexts', async () => {
    const r = await captive(
      'tsnbd',
      [join(FIXTURES, 'exports-plugin.mjs')],
      'qemu-nbd --list -k "$unixsocket"',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /exports available: 3/);
    assert.match(r.stdout, /export: 'beta'\n\s+description: the beta disk\n\s+size:\s+2097152/);
    assert.match(r.stdout, /available meta contexts: 1\n\s+base:allocation/);
  });

  void it('-e picks the export in $uri and unknown exports are refused', async () => {
    const plugin = join(FIXTURES, 'exports-plugin.mjs');
    const ok = await captive('tsnbd', ['-e', 'beta', plugin], 'nbdinfo --size "$uri"');
    assert.equal(ok.stdout.trim(), String(2 << 20), ok.stderr);
    const bad = await captive('tsnbd', ['-e', 'delta', plugin], 'nbdinfo --size "$uri"');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /no export delta|delta/);
  });

  void it('the zero plugin serves an empty disk', async () => {
    const r = await captive('tsnbd', ['zero'], 'nbdinfo --size "$uri"');
    assert.equal(r.stdout.trim(), '0', r.stderr);
  });
});
