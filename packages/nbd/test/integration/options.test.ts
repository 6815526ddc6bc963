// nbdkit's server options on tsnbd: each one does what nbdkit's manual says, or is refused
// with a message. Nothing is accepted and ignored.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  TSNBD,
  alive,
  captive,
  ids,
  requireTools,
  run,
  startTsnbd,
  tempDir,
  uriOf,
} from '../helpers.js';

requireTools('nbdinfo', 'qemu-io');

void describe('server options', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const isRoot = process.getuid?.() === 0;

  void it(
    '-u and -g drop privileges once listening: the served file is opened as that user',
    { skip: isRoot ? false : 'needs root to change user' },
    async () => {
      // A directory anyone may enter, holding one file of nobody's and one of root's (0600).
      const shared = tempDir();
      try {
        const dir = shared.dir;
        chmodSync(dir, 0o755);
        const theirs = join(dir, 'nobody.img');
        const roots = join(dir, 'root.img');
        writeFileSync(theirs, Buffer.alloc(1 << 20));
        writeFileSync(roots, Buffer.alloc(1 << 20));
        chmodSync(theirs, 0o600);
        chmodSync(roots, 0o600);
        chownSync(theirs, 65534, 65534);
        for (const [file, allowed] of [
          [theirs, true],
          [roots, false],
        ] as const) {
          const server = await startTsnbd(tmp.dir, ['-u', 'nobody', '-g', 'nogroup', 'file', file]);
          try {
            // Wait for the drop (it follows the bind).
            for (
              let i = 0;
              i < 100 && ids(server.child.pid!).uid !== '65534\t65534\t65534\t65534';
              i++
            ) {
              await sleep(20);
            }
            assert.deepEqual(ids(server.child.pid!), {
              uid: '65534\t65534\t65534\t65534',
              gid: '65534\t65534\t65534\t65534',
              groups: '65534',
            });
            const io = await run('qemu-io', [
              '-f',
              'raw',
              '-c',
              'write -P 9 0 4k',
              uriOf(server.socket),
            ]);
            if (allowed) assert.equal(io.code, 0, io.stderr);
            else {
              assert.notEqual(io.code, 0);
              assert.match(io.stderr, /EACCES|permission denied|Permission denied/i);
            }
          } finally {
            await server.stop();
          }
        }
        assert.equal(readFileSync(theirs)[0], 9, 'written as nobody');
        assert.equal(readFileSync(roots)[0], 0, "root's file untouched");
        assert.equal(statSync(theirs).uid, 65534);
        assert.equal(statSync(theirs).mode & 0o777, 0o600);
      } finally {
        shared.cleanup();
      }
    },
  );

  void it(
    '-u with -U - hands the private socket directory over, so that it is removed at exit',
    { skip: isRoot ? false : 'needs root to change user' },
    async () => {
      const r = await captive(
        'tsnbd',
        ['-u', 'nobody', '-g', 'nogroup', 'memory', '1M'],
        'nbdinfo --size "$uri" && echo "$unixsocket"',
      );
      assert.equal(r.code, 0, r.stderr);
      const [size, socket] = r.stdout.trim().split('\n');
      assert.equal(size, String(1 << 20));
      assert.ok(!existsSync(socket!), 'the private socket is removed');
    },
  );

  void it('unknown users and groups are refused before serving', async () => {
    for (const option of ['-u', '-g']) {
      const r = await run(process.execPath, [
        TSNBD,
        '-f',
        '-U',
        join(tmp.dir, 'x.sock'),
        option,
        'no-such-id-xyz',
        'null',
        '1M',
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^tsnbd: ${option} no-such-id-xyz: `, 'm'));
    }
  });

  void it('--exit-with-parent: the server exits when the process that started it does', async () => {
    const socket = join(tmp.dir, 'orphan.sock');
    // The parent shell starts tsnbd, prints its pid, waits for the socket, then exits.
    const parent = spawn(
      'sh',
      [
        '-c',
        `"$0" "$1" --exit-with-parent -U ${socket} null 1M & echo $!; ` +
          `while [ ! -S ${socket} ]; do sleep 0.05; done`,
        process.execPath,
        TSNBD,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => parent.once('exit', r));
    const pid = Number(out.trim());
    assert.ok(pid > 0, out);
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    assert.ok(!alive(pid), 'tsnbd exited with its parent');
    assert.ok(!existsSync(socket), 'and removed its socket');
  });

  void it('--no-sr refuses structured replies; clients fall back to simple replies', async () => {
    const r = await captive('tsnbd', ['--no-sr', 'memory', '1M'], 'nbdinfo --json "$uri"');
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as {
      structured: boolean;
      exports: { contexts?: string[] }[];
    };
    assert.equal(info.structured, false);
    assert.deepEqual(info.exports[0]!.contexts ?? [], []);
    const io = await captive(
      'tsnbd',
      ['--no-sr', 'memory', '1M'],
      `qemu-io -f raw -c 'write -P 5 0 64k' -c 'read -P 5 0 64k' "$uri"`,
    );
    assert.equal(io.code, 0, io.stderr);
    assert.doesNotMatch(io.stdout, /verification failed/);
  });

  void it('--no-mc stops advertising multi-conn', async () => {
    const on = await captive('tsnbd', ['memory', '1M'], 'nbdinfo --json "$uri"');
    const off = await captive('tsnbd', ['--no-mc', 'memory', '1M'], 'nbdinfo --json "$uri"');
    assert.match(on.stdout, /"can_multi_conn": true/);
    assert.match(off.stdout, /"can_multi_conn": false/);
  });

  void it('--threads=N serves at most N requests of a connection at once', async () => {
    const order = async (threads: string) => {
      const log = join(tmp.dir, `log-${threads}.txt`);
      const reads = [0, 1, 2, 3].map((i) => `-c 'aio_read ${i * 4}k 4k'`).join(' ');
      const r = await captive(
        'tsnbd',
        [
          `--threads=${threads}`,
          '--filter=log',
          '--filter=delay',
          'memory',
          '1M',
          `logfile=${log}`,
          'rdelay=50ms',
        ],
        `qemu-io -f raw ${reads} -c aio_flush "$uri"`,
      );
      assert.equal(r.code, 0, r.stderr);
      // One letter per line of the log: R for a read request, r for its reply.
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => /Read\)? id=/.test(l))
        .map((l) => (l.includes('...(Read)') ? 'r' : 'R'))
        .join('');
    };
    assert.equal(await order('1'), 'RrRrRrRr');
    assert.match(await order('4'), /^RRRR/);
  });

  void it('-n is accepted (newstyle is the only protocol), nbdkit options tsnbd lacks are refused', async () => {
    const ok = await captive('tsnbd', ['-n', 'memory', '1M'], 'nbdinfo --size "$uri"');
    assert.equal(ok.stdout.trim(), String(1 << 20), ok.stderr);
    const refused: [string[], RegExp][] = [
      [['-D', 'file.zero=1'], /-D: tsnbd plugins and filters have no debug flags/],
      [
        ['--debug=file.zero=1'],
        /--debug=file.zero=1: tsnbd plugins and filters have no debug flags/,
      ],
      [['-o'], /-o: tsnbd speaks only the fixed newstyle protocol/],
      [['--log=syslog'], /--log: not supported/],
      [['--vsock'], /--vsock: not supported/],
      [['-4'], /-4: not supported/],
      [['--threads=0'], /--threads=0: expected a number from 1 to 1024/],
    ];
    for (const [args, pattern] of refused) {
      const r = await run(process.execPath, [TSNBD, '-f', ...args, 'memory', '1M']);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern);
    }
  });
});
