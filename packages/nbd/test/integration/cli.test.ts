// The tsnbd command line: help, errors, background mode with a pid file, -s, captive vars.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, TSNBD, captive, requireTools, run, tempDir, uriOf } from '../helpers.js';

requireTools('nbdinfo', 'qemu-io');

void describe('tsnbd command line', () => {
  void it('--help lists every plugin and filter with its keys', async () => {
    const r = await run(process.execPath, [TSNBD, '--help']);
    assert.equal(r.code, 0);
    for (const name of [
      'memory',
      'file',
      'null',
      'zero',
      'pattern',
      'data',
      'sparse-random',
      'http',
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
    }
    for (const name of [
      'cow',
      'cache',
      'offset',
      'partition',
      'readahead',
      'blocksize',
      'delay',
      'error',
      'log',
      'stats',
      'retry',
      'rate',
      'truncate',
      'checkwrite',
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
    }
    assert.match(r.stdout, /size=SIZE/);
    assert.match(r.stdout, /cow-on-read=BOOL/);
  });

  void it('bad input gets a one-line error naming the problem, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['nosuchplugin'], /unknown plugin "nosuchplugin"; built-in plugins: .*memory/],
      [['memory'], /memory: size= is required/],
      [['memory', 'size=lots'], /size=lots: not a size/],
      [['memory', '1M', 'colour=red'], /memory: unknown parameter colour/],
      [['--filter=nosuch', 'memory', '1M'], /unknown filter "nosuch"/],
      [['--bogus', 'memory', '1M'], /unknown option --bogus/],
      [['-U', 'x', '-p', '1', 'memory', '1M'], /only one of -U, -p and -s/],
      [['./missing-plugin.js'], /does not exist/],
      [['file', '/nonexistent/disk.img'], /file: cannot use \/nonexistent\/disk.img: ENOENT/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(process.execPath, [TSNBD, '-f', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  void it('captive mode sets $uri, $unixsocket, $exportname and returns the exit status', async () => {
    const r = await captive(
      'tsnbd',
      ['-e', 'foo', 'memory', '1M'],
      'echo "$uri|$unixsocket|$exportname|$port"; exit 3',
    );
    assert.equal(r.code, 3);
    const [uri, socket, exportName, port] = r.stdout.trim().split('|');
    assert.equal(uri, `nbd+unix:///foo?socket=${encodeURIComponent(socket!)}`);
    assert.equal(exportName, 'foo');
    assert.equal(port, '');
    assert.ok(!existsSync(socket!), 'the private socket is removed at exit');
  });

  void it('-p serves TCP and sets $port', async () => {
    const r = await captive(
      'tsnbd',
      ['-p', '0', '-i', '127.0.0.1', 'memory', '1M'],
      'nbdinfo --size "nbd://127.0.0.1:$port"',
    );
    // -U - is given by captive(); -p must then be refused.
    assert.equal(r.code, 1);
    const tcp = await run(process.execPath, [
      TSNBD,
      '-p',
      '0',
      '-i',
      '127.0.0.1',
      'memory',
      '1M',
      '--run',
      'nbdinfo --size "nbd://127.0.0.1:$port"',
    ]);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.equal(tcp.stdout.trim(), String(1 << 20));
  });

  void it('forks into the background, writes the pid file, and stops on SIGTERM', async () => {
    const tmp = tempDir();
    const socket = join(tmp.dir, 'sock');
    const pidFile = join(tmp.dir, 'pid');
    try {
      const r = await run(process.execPath, [TSNBD, '-U', socket, '-P', pidFile, 'memory', '1M']);
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const info = await run('nbdinfo', ['--size', uriOf(socket)]);
      assert.equal(info.stdout.trim(), String(1 << 20));
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(50);
      assert.ok(!existsSync(pidFile), 'pid file removed at exit');
    } finally {
      tmp.cleanup();
    }
  });

  for (const [how, plugin] of [
    ['compiled by tsc', join(FIXTURES, '../../dist/test/fixtures/ramdisk.js')],
    ['loaded from its .ts file', join(FIXTURES, 'ramdisk.ts')],
  ] as const) {
    void it(`the README's example plugin, ${how}, serves and refuses as written`, async () => {
      const r = await captive(
        'tsnbd',
        [plugin, 'size=1M'],
        `qemu-io -f raw -c 'write -P 0x12 1000 5000' -c 'read -P 0x12 1000 5000' -c 'write -P 0xff 0 1' "$uri"`,
      );
      assert.match(r.stdout, /read 5000\/5000 bytes at offset 1000/);
      assert.match(r.stdout + r.stderr, /write failed: Input\/output error/);
    });
  }

  void it('a TypeScript plugin that does not parse is refused with the place of the mistake', async () => {
    const tmp = tempDir();
    try {
      const broken = join(tmp.dir, 'broken.ts');
      writeFileSync(broken, 'export default { name: "x", open() { return 1 }\n');
      const r = await run(process.execPath, [TSNBD, '-f', broken]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /plugin .*broken\.ts failed to load: .*broken\.ts:2:1: '}' expected/);
    } finally {
      tmp.cleanup();
    }
  });

  void it('-s speaks NBD on stdin/stdout', async () => {
    const child = spawn(process.execPath, [TSNBD, '-s', 'memory', '1M'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    // Client flags, then NBD_OPT_ABORT.
    const abort = Buffer.alloc(20);
    abort.writeUInt32BE(3, 0);
    abort.write('IHAVEOPT', 4);
    abort.writeUInt32BE(2, 12);
    child.stdin.end(abort);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    const out = Buffer.concat(chunks);
    assert.equal(code, 0);
    assert.equal(out.toString('latin1', 0, 16), 'NBDMAGICIHAVEOPT');
    assert.equal(out.readUInt32BE(18 + 12), 1, 'ABORT is acknowledged');
  });
});
