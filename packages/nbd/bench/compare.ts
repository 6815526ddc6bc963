// Throughput and latency of tsnbd against nbdkit with the same plugin, in one run.
// Each case runs on both servers alternately, ROUNDS times; the best time of each counts
// (this machine is shared, so the minimum is the least noisy). Prints ratios:
// throughput ratio = nbdkit time / tsnbd time (1.0 = as fast as nbdkit, higher is faster).
// Run by hand: node packages/nbd/dist/bench/compare.js [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TSNBD = resolve(fileURLToPath(new URL('.', import.meta.url)), '../src/cli/tsnbd.js');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SIZE = quick ? '512M' : '2G';
const dir = mkdtempSync(join(tmpdir(), 'tsnbd-bench-'));
const source = join(dir, 'random.img');
execFileSync('sh', ['-c', `head -c ${quick ? '128M' : '512M'} /dev/urandom > ${source}`]);

interface Case {
  name: string;
  args: string[];
  /** Shell command run in captive mode; must print elapsed nanoseconds on its last line. */
  run: string;
  /** What one run moves, for MB/s, or requests for latency. */
  bytes?: number;
  requests?: number;
}

const timed = (cmd: string) =>
  `s=$(date +%s%N); ${cmd} >/dev/null || exit 1; e=$(date +%s%N); echo $((e - s))`;
const bytesOf = (s: string) => Number(s.slice(0, -1)) * 2 ** 30 * (s.endsWith('M') ? 1 / 1024 : 1);

const cases: Case[] = [];
for (const c of [1, 4]) {
  cases.push({
    name: `pattern ${SIZE}, nbdcopy -C ${c} to null:`,
    args: ['pattern', SIZE],
    run: timed(`nbdcopy -C ${c} "$uri" null:`),
    bytes: bytesOf(SIZE),
  });
  const sourceBytes = Number(execFileSync('stat', ['-c', '%s', source]).toString());
  cases.push({
    name: `memory: nbdcopy -C ${c} file -> NBD (writes)`,
    args: ['memory', SIZE],
    run: timed(`nbdcopy -C ${c} ${source} "$uri"`),
    bytes: sourceBytes,
  });
  cases.push({
    name: `memory: nbdcopy -C ${c} NBD -> null: (reads)`,
    args: ['memory', SIZE],
    run: `nbdcopy ${source} "$uri" && ${timed(`nbdcopy -C ${c} "$uri" null:`)}`,
    bytes: sourceBytes,
  });
}
cases.push({
  name: `pattern ${SIZE}, qemu-img convert to null-co`,
  args: ['pattern', SIZE],
  run: timed(`qemu-img convert -n -f raw "$uri" --target-image-opts driver=null-co,size=${SIZE}`),
  bytes: bytesOf(SIZE),
});
// The cow filter as a conversion uses it: the guest writes into the overlay, fstrim
// discards free space (here: all but the start of what was written, in unaligned ranges),
// then the overlay is copied.
const OVERLAY = quick ? '64M' : '256M';
const discards = Array.from({ length: 16 }, (_, i) => {
  const step = bytesOf(OVERLAY) / 16;
  return `-c 'discard ${i * step + 4096} ${step / 2}'`;
}).join(' ');
cases.push({
  name: `cow over a file: ${OVERLAY} written into the overlay`,
  args: ['--filter=cow', 'file', source],
  run: timed(`qemu-io -f raw -c 'write -P 7 0 ${OVERLAY}' "$uri"`),
  bytes: bytesOf(OVERLAY),
});
cases.push({
  name: `cow over a file, after writes and discards: nbdcopy to null:`,
  args: ['--filter=cow', 'file', source],
  run: `qemu-io -f raw -c 'write -P 7 0 ${OVERLAY}' ${discards} "$uri" >/dev/null && ${timed('nbdcopy "$uri" null:')}`,
  bytes: Number(execFileSync('stat', ['-c', '%s', source]).toString()),
});
const REQUESTS = quick ? 5000 : 20000;
cases.push({
  name: `latency: qemu-img bench, ${REQUESTS} x 4 KiB reads, depth 1 (memory)`,
  args: ['memory', '1G'],
  run: timed(`qemu-img bench -f raw -c ${REQUESTS} -d 1 -s 4k "$uri"`),
  requests: REQUESTS,
});
cases.push({
  name: `latency: qemu-img bench, ${REQUESTS} x 4 KiB writes, depth 1 (memory)`,
  args: ['memory', '1G'],
  run: timed(`qemu-img bench -w -f raw -c ${REQUESTS} -d 1 -s 4k "$uri"`),
  requests: REQUESTS,
});

function once(server: 'nbdkit' | 'tsnbd', c: Case): number {
  const [bin, pre] = server === 'nbdkit' ? ['nbdkit', []] : [process.execPath, [TSNBD]];
  const r = spawnSync(bin, [...pre, '-U', '-', ...c.args, '--run', c.run], { encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !/^\d+$/.test(last)) {
    throw new Error(`${server} ${c.name} failed (${r.status}): ${r.stderr}`);
  }
  return Number(last) / 1e9;
}

try {
  console.log(`tsnbd vs nbdkit, best of ${ROUNDS}; ratio = nbdkit time / tsnbd time`);
  for (const c of cases) {
    let best = { nbdkit: Infinity, tsnbd: Infinity };
    for (let i = 0; i < ROUNDS; i++) {
      best = {
        nbdkit: Math.min(best.nbdkit, once('nbdkit', c)),
        tsnbd: Math.min(best.tsnbd, once('tsnbd', c)),
      };
    }
    const ratio = best.nbdkit / best.tsnbd;
    const detail = c.bytes
      ? `nbdkit ${(c.bytes / best.nbdkit / 1e6).toFixed(0)} MB/s, tsnbd ${(c.bytes / best.tsnbd / 1e6).toFixed(0)} MB/s`
      : `nbdkit ${((best.nbdkit / c.requests!) * 1e6).toFixed(1)} us/req, tsnbd ${((best.tsnbd / c.requests!) * 1e6).toFixed(1)} us/req`;
    console.log(`${c.name.padEnd(58)} ratio ${ratio.toFixed(2)}  (${detail})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
