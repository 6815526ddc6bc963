// tsguestfs against libguestfs, side by side in one run, on the same image (the Debian test
// guest with a 100 MB file). Library level: our client against libguestfs's C library (through its Perl
// binding, Sys::Guestfs), one appliance launch each: launch to first call, 1,000 is_file
// calls, a 100 MB download. Tool level: `tsguestfs copy-out` against `virt-copy-out` (each
// launches its own appliance). Prints times and ratios (ours / theirs: below 1 is faster).
//   node packages/guestfs/dist/bench/compare.js [--calls N]
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { debianImage } from '@tsvirt/testimages';
import { launch } from '../src/index.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '1000' } } });
const calls = Number(values.calls);
const BIG = 100 * 1024 * 1024;
const env = {
  ...process.env,
  LIBGUESTFS_BACKEND: 'direct',
  LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
};

const work = mkdtempSync(join(tmpdir(), 'tsguestfs-bench-'));
try {
  // The Debian test guest (the tools need an OS to inspect), through a qcow2 overlay that
  // gets the 100 MB file: the cached image is never written.
  const guest = await debianImage({ layout: 'mbr-ext4' });
  const image = join(work, 'overlay.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', guest.path, '-F', 'raw', image]);
  writeFileSync(join(work, 'big'), randomBytes(BIG));

  // --- ours, one launch ---
  const t0 = performance.now();
  const g = await launch({ drives: [{ source: image, format: 'qcow2' }], accel: 'tcg' });
  await g.mount('/dev/sda1', '/');
  await g.isFile('/big');
  const oursLaunch = (performance.now() - t0) / 1000;
  await g.upload(join(work, 'big'), '/big');
  const t1 = performance.now();
  for (let i = 0; i < calls; i++) await g.isFile('/big');
  const oursCalls = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await g.download('/big', '/dev/null');
  const oursDownload = (performance.now() - t2) / 1000;
  await g.close();

  // --- libguestfs's C library (Perl binding), one launch ---
  const perl = `
    use strict; use Sys::Guestfs; use Time::HiRes qw(time);
    my ($image, $calls) = @ARGV;
    my $g = Sys::Guestfs->new();
    $g->add_drive_opts($image, format => 'qcow2', readonly => 1);
    my $t0 = time; $g->launch(); $g->mount_ro('/dev/sda1', '/'); $g->is_file('/big');
    my $t1 = time; $g->is_file('/big') for 1 .. $calls;
    my $t2 = time; $g->download('/big', '/dev/null');
    my $t3 = time; $g->shutdown(); $g->close();
    printf "%.3f %.3f %.3f\\n", $t1 - $t0, $t2 - $t1, $t3 - $t2;`;
  const theirs = spawnSync('perl', ['-e', perl, image, String(calls)], { env, encoding: 'utf8' });
  if (theirs.status !== 0) throw new Error(`Sys::Guestfs: ${theirs.stderr}`);
  const [cLaunch, cCalls, cDownload] = theirs.stdout.trim().split(' ').map(Number) as [
    number,
    number,
    number,
  ];

  // --- tools: copy-out of the 100 MB file, each launching its appliance ---
  const timed = (command: string, args: string[]): number => {
    const start = performance.now();
    const r = spawnSync(command, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
    return (performance.now() - start) / 1000;
  };
  const outOurs = join(work, 'ours');
  const outTheirs = join(work, 'theirs');
  mkdirSync(outOurs);
  mkdirSync(outTheirs);
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  const toolOurs = timed(process.execPath, [
    cli,
    'copy-out',
    '--accel',
    'tcg',
    '--format',
    'qcow2',
    '-a',
    image,
    '/big',
    outOurs,
  ]);
  const toolTheirs = timed('virt-copy-out', ['--format=qcow2', '-a', image, '/big', outTheirs]);
  if (
    statSync(join(outOurs, 'big')).size !== BIG ||
    statSync(join(outTheirs, 'big')).size !== BIG
  ) {
    throw new Error('copy-out did not copy the whole file');
  }

  const rows: [string, string, string, number][] = [
    ['launch to first call (s)', oursLaunch.toFixed(1), cLaunch.toFixed(1), oursLaunch / cLaunch],
    [
      `${calls} is_file: calls/s`,
      (calls / oursCalls).toFixed(0),
      (calls / cCalls).toFixed(0),
      oursCalls / cCalls,
    ],
    [
      'download 100 MB (s)',
      oursDownload.toFixed(2),
      cDownload.toFixed(2),
      oursDownload / cDownload,
    ],
    [
      'copy-out 100 MB, tool, incl. launch (s)',
      toolOurs.toFixed(1),
      toolTheirs.toFixed(1),
      toolOurs / toolTheirs,
    ],
  ];
  console.log(
    'TCG appliance, same image, one run (libguestfs 1.48.6; C library through Sys::Guestfs)\n',
  );
  console.log(
    `${'what'.padEnd(42)}${'tsguestfs'.padStart(12)}${'libguestfs'.padStart(12)}${'ratio'.padStart(8)}`,
  );
  for (const [what, ours, c, ratio] of rows) {
    console.log(
      `${what.padEnd(42)}${ours.padStart(12)}${c.padStart(12)}${ratio.toFixed(2).padStart(8)}`,
    );
  }
  console.log('\nratio: our time / their time, for the same work (below 1: tsguestfs is faster)');
} finally {
  rmSync(work, { recursive: true, force: true });
}
