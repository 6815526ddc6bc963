// Throughput and latency of tsnbd against nbdkit with the same plugin, in one run.
// Each case runs on both servers alternately (which one goes first alternates too), ROUNDS
// times; the best time of each counts (this machine is shared, so the minimum is the least
// noisy). Prints ratio = nbdkit time / tsnbd time (1.0: as fast as nbdkit, higher: faster).
// The copy tools are compared the same way: nbdcopy / tsnbd copy.
// Run by hand: node packages/nbd/dist/bench/compare.js [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const TSNBD = resolve(here, '../src/cli/tsnbd.js');
const TSNBD_COPY = resolve(here, '../src/cli/tsnbd-copy.js');
const LATENCY_SOURCE = resolve(here, '../../bench/nbd-latency.c');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 5;
const SIZE = quick ? '512M' : '2G';
const dir = mkdtempSync(join(tmpdir(), 'tsnbd-bench-'));
const source = join(dir, 'random.img');
execFileSync('sh', ['-c', `head -c ${quick ? '128M' : '704M'} /dev/urandom > ${source}`]);
const sourceBytes = statSync(source).size;
const latencyClient = join(dir, 'nbd-latency');
try {
  execFileSync('cc', ['-O2', '-Wall', '-o', latencyClient, LATENCY_SOURCE], { stdio: 'inherit' });
} catch {
  throw new Error(
    'cannot compile bench/nbd-latency.c: install gcc (scripts/install-debian-packages)',
  );
}

interface Case {
  name: string;
  /** The server's arguments (server cases). */
  args: string[];
  /**
   * Shell command, run in captive mode (server cases) or with $copy naming the copy tool
   * (copy cases); must print elapsed nanoseconds on its last line.
   */
  run: string;
  /** A copy case: nbdcopy against tsnbd copy, no server. */
  copyTool?: boolean;
  /** What one run moves, for MB/s, or requests for latency. */
  bytes?: number;
  requests?: number;
  /** The issue's goal for the ratio, for the main table. */
  goal?: number;
}

const timed = (cmd: string) =>
  `s=$(date +%s%N); ${cmd} >/dev/null || exit 1; e=$(date +%s%N); echo $((e - s))`;
const bytesOf = (s: string) => Number(s.slice(0, -1)) * 2 ** 30 * (s.endsWith('M') ? 1 / 1024 : 1);
// nbdcopy opens no more connections than it has threads (one per core by default).
const connections = (c: number) => `-C ${c} -T ${c}`;
const fill = `nbdcopy ${connections(4)} ${source} "$uri"`;

const REQUESTS = quick ? 10000 : 50000;
const table: Case[] = [];
for (const c of [1, 4]) {
  table.push({
    name: `pattern ${SIZE} -> nbdcopy null:, ${c} connection${c > 1 ? 's' : ''}`,
    args: ['pattern', SIZE],
    run: timed(`nbdcopy ${connections(c)} "$uri" null:`),
    bytes: bytesOf(SIZE),
    goal: c === 1 ? 1.0 : 0.95,
  });
}
for (const c of [1, 4]) {
  table.push({
    name: `memory, ${sourceBytes >> 20} MiB written, ${c} connection${c > 1 ? 's' : ''}`,
    args: ['memory', SIZE],
    run: timed(`nbdcopy ${connections(c)} ${source} "$uri"`),
    bytes: sourceBytes,
    goal: 0.9,
  });
}
for (const c of [1, 4]) {
  table.push({
    name: `memory, ${sourceBytes >> 20} MiB read, ${c} connection${c > 1 ? 's' : ''}`,
    args: ['memory', SIZE],
    run: `${fill} && ${timed(`nbdcopy ${connections(c)} "$uri" null:`)}`,
    bytes: sourceBytes,
    goal: 0.9,
  });
}
table.push({
  name: `4 KiB random reads, queue depth 1 (C client), latency`,
  args: ['memory', `${sourceBytes >> 20}M`],
  run: `${fill} && ${latencyClient} "$unixsocket" ${REQUESTS}`,
  requests: REQUESTS,
  goal: 1.0,
});

const others: Case[] = [];
others.push({
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
others.push({
  name: `cow over a file: ${OVERLAY} written into the overlay`,
  args: ['--filter=cow', 'file', source],
  run: timed(`qemu-io -f raw -c 'write -P 7 0 ${OVERLAY}' "$uri"`),
  bytes: bytesOf(OVERLAY),
});
others.push({
  name: `cow over a file, after writes and discards: nbdcopy to null:`,
  args: ['--filter=cow', 'file', source],
  run: `qemu-io -f raw -c 'write -P 7 0 ${OVERLAY}' ${discards} "$uri" >/dev/null && ${timed('nbdcopy "$uri" null:')}`,
  bytes: sourceBytes,
});
for (const write of [false, true]) {
  others.push({
    name: `qemu-img bench, 4 KiB ${write ? 'writes' : 'reads'}, depth 1 (memory), latency`,
    args: ['memory', '1G'],
    run: timed(`qemu-img bench ${write ? '-w ' : ''}-f raw -c ${REQUESTS} -d 1 -s 4k "$uri"`),
    requests: REQUESTS,
  });
}

// The copy tools side by side: nbdcopy and tsnbd copy, from a file of data followed by
// zeroes (written, not holes: both tools must find them) to a new file. tsnbd copy always
// flushes the destination at the end, so nbdcopy is given --flush to do the same.
const copySource = join(dir, 'data-then-zeroes.img');
execFileSync('sh', [
  '-c',
  `cat ${source} > ${copySource}; head -c ${quick ? '64M' : '512M'} /dev/zero >> ${copySource}`,
]);
const copyTarget = join(dir, 'copy.img');
const copyBytes = statSync(copySource).size;
const copies: Case[] = [
  {
    name: `file of ${copyBytes >> 20} MiB (${sourceBytes >> 20} MiB data, then zeroes) -> new file`,
    args: [],
    run: timed(`rm -f ${copyTarget}; $copy ${copySource} ${copyTarget}`),
    bytes: copyBytes,
    copyTool: true,
  },
];

type Side = 'peer' | 'ours';

/** Runs a case once on one side: its server in captive mode, or its copy tool. */
function spawnCase(side: Side, c: Case) {
  if (c.copyTool) {
    const copy = side === 'peer' ? 'nbdcopy --flush' : `${process.execPath} ${TSNBD_COPY}`;
    return spawnSync('sh', ['-c', c.run], { encoding: 'utf8', env: { ...process.env, copy } });
  }
  const [bin, pre] = side === 'peer' ? ['nbdkit', []] : [process.execPath, [TSNBD]];
  return spawnSync(bin, [...pre, '-U', '-', ...c.args, '--run', c.run], { encoding: 'utf8' });
}

/** One timed run of a case, in seconds. */
function once(side: Side, c: Case): number {
  const r = spawnCase(side, c);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !/^\d+$/.test(last)) {
    throw new Error(`${side} ${c.name} failed (${r.status}): ${r.stderr}`);
  }
  return Number(last) / 1e9;
}

function measure(c: Case): Record<Side, number> {
  const best = { peer: Infinity, ours: Infinity };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['peer', 'ours'] as const) : (['ours', 'peer'] as const);
    for (const side of order) best[side] = Math.min(best[side], once(side, c));
  }
  return best;
}

function cell(c: Case, seconds: number): string {
  return c.bytes
    ? `${seconds.toFixed(3)} s (${(c.bytes / seconds / 1e6).toFixed(0)} MB/s)`
    : `${((seconds / c.requests!) * 1e6).toFixed(1)} µs/request`;
}

/** A table of cases; `columns` names the workload and the two sides. */
function print(title: string, cases: Case[], columns = ['workload', 'nbdkit', 'tsnbd']): void {
  console.log(`\n${title}\n`);
  console.log(`| ${columns.join(' | ')} | ratio | goal |`);
  console.log('|---|---|---|---|---|');
  for (const c of cases) {
    const best = measure(c);
    const ratio = best.peer / best.ours;
    const goal =
      c.goal === undefined ? '' : `>= ${c.goal.toFixed(2)} ${ratio >= c.goal ? 'met' : 'NOT met'}`;
    console.log(
      `| ${c.name} | ${cell(c, best.peer)} | ${cell(c, best.ours)} | ${ratio.toFixed(2)} | ${goal} |`,
    );
  }
}

try {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `tsnbd (--workers default: ${availableParallelism()}) vs nbdkit, best of ${ROUNDS} ` +
      `alternating runs; ratio = nbdkit time / tsnbd time. Load average at start: ${load()}`,
  );
  print('The table of issue 16', table);
  print('Other cases', others);
  print('The copy tools (ratio = nbdcopy time / tsnbd copy time)', copies, [
    'copy',
    'nbdcopy',
    'tsnbd copy',
  ]);
  console.log(`\nLoad average at the end: ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
