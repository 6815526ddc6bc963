// tsnbd serving on several worker processes (--workers): connections spread over them, one
// memory disk seen alike through every worker (the NBD consistency rules with multi-conn),
// 64 verifying clients at once, a worker killed mid-operation, and the modes that must keep
// working (TLS, -u/-g, TCP, socket activation, captive mode).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbdClient } from '../../src/client/client.js';
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
  type Daemon,
} from '../helpers.js';

requireTools('nbdinfo', 'nbdcopy');

/** Worker numbers and pids, from the -v log: "worker 2 is pid 1234". */
function workerPids(stderr: string): Map<number, number> {
  return new Map([...stderr.matchAll(/worker (\d+) is pid (\d+)/g)].map((m) => [+m[1]!, +m[2]!]));
}

/** How many connections each of `workers` took, from the -v log (worker 1: the first process). */
function connectionsPerWorker(stderr: string, workers: number): string {
  const counts = Array.from({ length: workers }, () => 0);
  for (const m of stderr.matchAll(/^tsnbd: (?:worker (\d+): )?connection from/gm)) {
    counts[Number(m[1] ?? 1) - 1]!++;
  }
  return counts.join();
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await sleep(20);
  assert.ok(done(), `timed out waiting for ${what}`);
}

/** Connects `count` clients one after the other (each to the least busy worker). */
async function clients(socket: string, count: number): Promise<NbdClient[]> {
  const out: NbdClient[] = [];
  for (let i = 0; i < count; i++) out.push(await NbdClient.connect({ socket }));
  return out;
}

void describe('workers', () => {
  const tmp = tempDir();
  const daemons: Daemon[] = [];
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    tmp.cleanup();
  });
  async function start(args: string[]): Promise<Daemon> {
    const d = await startTsnbd(tmp.dir, ['-v', ...args]);
    daemons.push(d);
    return d;
  }

  void it('connections made at once spread evenly over the workers', async () => {
    const d = await start(['--workers=3', 'memory', '64M']);
    const cs = await clients(d.socket, 6);
    await until('six connections', () => connectionsPerWorker(d.stderr(), 3) === '2,2,2');
    assert.equal(workerPids(d.stderr()).size, 2, 'two more processes');
    await Promise.all(cs.map((c) => c.close()));
  });

  void it('a flush on one connection makes its writes visible through every worker', async () => {
    const d = await start(['--workers=2', 'memory', '16M']);
    const [a, b] = await clients(d.socket, 2);
    await until('two workers', () => connectionsPerWorker(d.stderr(), 2) === '1,1');
    assert.ok(a!.canMultiConn && b!.canMultiConn, 'multi-conn is advertised');
    for (let round = 0; round < 200; round++) {
      const [writer, reader] = round % 2 ? [a!, b!] : [b!, a!];
      const length = randomInt(1, 200_000);
      const offset = randomInt(0, (16 << 20) - length);
      const data = randomBytes(length);
      const op = round % 10;
      if (op === 7) await writer.zero(length, offset);
      else if (op === 8) await writer.trim(length, offset);
      else await writer.pwrite(data, offset);
      await writer.flush();
      const back = Buffer.alloc(length);
      await reader.pread(back, offset);
      if (op === 7 || op === 8)
        assert.ok(
          back.every((x) => x === 0),
          `round ${round}: zeroes`,
        );
      else assert.ok(back.equals(data), `round ${round}: ${length} bytes at ${offset}`);
    }
    const [mapA, mapB] = await Promise.all([a!, b!].map((c) => c.blockStatus(16 << 20, 0)));
    assert.deepEqual(mapA, mapB, 'both workers map the disk alike');
    await Promise.all([a!.close(), b!.close()]);
  });

  void it('overlapping writes at once through different workers: each byte is one writer’s', async () => {
    const d = await start(['--workers=4', 'memory', '4M']);
    const cs = await clients(d.socket, 8);
    await until('four workers', () => connectionsPerWorker(d.stderr(), 4) === '2,2,2,2');
    const span = 1 << 20;
    let previous = Buffer.alloc(span);
    for (let round = 0; round < 20; round++) {
      // Client i writes byte 16*round + i over [start_i, start_i + length_i).
      const writes = cs.map((_, i) => {
        const length = randomInt(1, span / 2);
        return { value: (16 * round + i + 1) & 0xff, start: randomInt(0, span - length), length };
      });
      await Promise.all(
        cs.map((c, i) =>
          c.pwrite(Buffer.alloc(writes[i]!.length, writes[i]!.value), writes[i]!.start),
        ),
      );
      await Promise.all(cs.map((c) => c.flush()));
      // Every connection (so every worker) reads the same bytes ...
      const seen = await Promise.all(
        cs.map(async (c) => {
          const buf = Buffer.alloc(span);
          await c.pread(buf, 0);
          return buf;
        }),
      );
      for (const s of seen) assert.ok(s.equals(seen[0]!), `round ${round}: workers disagree`);
      // ... and each byte is from a write of this round that covers it, or as it was.
      const now = seen[0]!;
      for (let at = 0; at < span; at++) {
        const covering = writes.filter((w) => at >= w.start && at < w.start + w.length);
        const ok =
          covering.length === 0
            ? now[at] === previous[at]
            : covering.some((w) => w.value === now[at]);
        if (!ok) assert.fail(`round ${round}: byte ${at} is ${now[at]}`);
      }
      previous = now;
    }
    await Promise.all(cs.map((c) => c.close()));
  });

  void it('64 clients at once, each writing and verifying its own region, on 4 workers', async () => {
    const region = 256 * 1024;
    const d = await start(['--workers=4', 'memory', `${(64 * region) >> 20}M`]);
    const cs = await clients(d.socket, 64);
    await until('64 connections', () => connectionsPerWorker(d.stderr(), 4) === '16,16,16,16');
    const models = cs.map(() => Buffer.alloc(region));
    await Promise.all(
      cs.map(async (c, i) => {
        const model = models[i]!;
        const base = i * region;
        for (let step = 0; step < 40; step++) {
          const length = randomInt(1, 65536);
          const at = randomInt(0, region - length);
          const kind = step % 8;
          if (kind === 6) {
            await c.zero(length, base + at);
            model.fill(0, at, at + length);
          } else if (kind === 7) {
            await c.flush();
          } else {
            const data = randomBytes(length);
            await c.pwrite(data, base + at);
            data.copy(model, at);
          }
          // Read back a random part of the region, compare with what this client wrote.
          const rl = randomInt(1, region);
          const ra = randomInt(0, region - rl + 1);
          const back = Buffer.alloc(rl);
          await c.pread(back, base + ra);
          assert.ok(back.equals(model.subarray(ra, ra + rl)), `client ${i}, step ${step}`);
        }
        await c.flush();
      }),
    );
    // One more connection reads the whole disk: every client's region, as it left it.
    const check = await NbdClient.connect({ socket: d.socket });
    const all = Buffer.alloc(64 * region);
    await check.pread(all, 0);
    assert.ok(all.equals(Buffer.concat(models)), 'the disk holds what each client wrote');
    await Promise.all([...cs, check].map((c) => c.close()));
  });

  void it('a worker killed mid-operation: its clients fail, the others go on, nothing is left', async () => {
    const d = await start(['--workers=2', 'memory', '64M']);
    const [a, b] = await clients(d.socket, 2);
    await until('two workers', () => connectionsPerWorker(d.stderr(), 2) === '1,1');
    const pid = workerPids(d.stderr()).get(2)!;
    // b (worker 2) is busy reading when its worker dies.
    const reads = Array.from({ length: 200 }, (_, i) =>
      b!.pread(Buffer.alloc(256 * 1024), (i % 64) * 256 * 1024),
    );
    const outcome = Promise.allSettled(reads);
    process.kill(pid, 'SIGKILL');
    const settled = await outcome;
    assert.ok(
      settled.some((r) => r.status === 'rejected'),
      'the killed worker’s client sees its requests fail',
    );
    await until('the exit to be noticed', () =>
      /worker 2 \(pid \d+\) exited \(SIGKILL\)/.test(d.stderr()),
    );
    // The other worker's client, and a new one, are served.
    await a!.pwrite(Buffer.alloc(4096, 5), 0);
    const c = await NbdClient.connect({ socket: d.socket });
    const back = Buffer.alloc(4096);
    await c.pread(back, 0);
    assert.ok(back.every((x) => x === 5));
    await Promise.all([a!.close(), c.close(), b!.close().catch(() => undefined)]);
    await d.stop();
    assert.equal(d.child.exitCode, 0, d.stderr());
    assert.ok(!existsSync(d.socket), 'the socket is removed');
  });

  void it('the first process killed: the other workers exit too', async () => {
    const d = await start(['--workers=3', 'memory', '1M']);
    const pids = [...workerPids(d.stderr()).values()];
    assert.equal(pids.length, 2);
    const hold = await NbdClient.connect({ socket: d.socket });
    d.child.kill('SIGKILL');
    await until('the workers to exit', () => pids.every((p) => !alive(p)));
    await hold.close().catch(() => undefined);
  });

  void it('STARTTLS and -u/-g work on a worker other than the first', async (t) => {
    const psk = join(tmp.dir, 'keys.psk');
    writeFileSync(psk, `alice:${randomBytes(32).toString('hex')}\n`);
    const root = process.getuid?.() === 0;
    const identity = root ? ['-u', 'nobody', '-g', 'nogroup'] : [];
    if (!root) t.diagnostic('not root: -u/-g not checked');
    const d = await start([
      '--workers=2',
      '--tls=on',
      `--tls-psk=${psk}`,
      ...identity,
      'memory',
      '1M',
    ]);
    const hold = await NbdClient.connect({ socket: d.socket }); // worker 1, in clear text
    const info = await run('nbdinfo', [
      `nbds+unix://alice@/?socket=${d.socket}&tls-psk-file=${psk}`,
    ]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /newstyle-fixed with TLS/);
    assert.match(d.stderr(), /^tsnbd: worker 2: connection from/m);
    if (root) {
      assert.deepEqual(ids(workerPids(d.stderr()).get(2)!), {
        uid: '65534\t65534\t65534\t65534',
        gid: '65534\t65534\t65534\t65534',
        groups: '65534',
      });
    }
    await hold.close();
  });

  void it('captive mode, TCP and socket activation spread connections too', async () => {
    const copy = 'nbdcopy -C 2 -T 2 "$uri" null: && nbdinfo --size "$uri"';
    const unix = await captive('tsnbd', ['-v', '--workers=2', 'memory', '8M'], copy);
    assert.equal(unix.code, 0, unix.stderr);
    assert.equal(connectionsPerWorker(unix.stderr, 2), '2,1');
    const tcp = await run(process.execPath, [
      ...[TSNBD, '-p', '0', '-v', '--workers=2', 'memory', '8M', '--run', copy],
    ]);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.match(tcp.stderr, /connection from .*127\.0\.0\.1/);
    assert.equal(connectionsPerWorker(tcp.stderr, 2), '2,1');
    // Socket activation as systemd does it: a listening socket as fd 3 (made by Perl, which
    // keeps it open across exec), LISTEN_PID the server's own pid.
    const path = join(tmp.dir, 'activated.sock');
    const activate = [
      '$^F = 3;',
      'my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => shift, Listen => 16) or die $!;',
      'fileno($s) == 3 or die "fd " . fileno($s);',
      '$ENV{LISTEN_PID} = $$; $ENV{LISTEN_FDS} = 1; exec @ARGV or die $!;',
    ].join(' ');
    const server = spawn(
      'perl',
      [
        '-MIO::Socket::UNIX',
        '-e',
        activate,
        path,
        process.execPath,
        TSNBD,
        '-v',
        '--workers=2',
        'memory',
        '8M',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    server.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await until('listening', () => /listening on 1 inherited socket/.test(stderr));
      const copy = await run('nbdcopy', ['-C', '2', '-T', '2', uriOf(path), 'null:']);
      assert.equal(copy.code, 0, copy.stderr);
      assert.equal(connectionsPerWorker(stderr, 2), '1,1');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  void it('a stack with a one-process layer runs on one worker and says why', async () => {
    const r = await captive('tsnbd', ['-v', '--workers=4', '--filter=cow', 'memory', '1M'], 'true');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /one worker: cow must run in one process/);
    assert.equal(workerPids(r.stderr).size, 0);
  });
});
