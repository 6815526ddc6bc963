// libguestfs's C daemon against the TypeScript daemon, each in its appliance, driven by our
// client side by side in one run on the same images: launch to first call, where Node.js's
// start goes (from the appliance console's uptimes), calls per second, a transfer both ways.
//   node packages/guestfs/dist/bench/daemons.js [--calls N] [--launches N]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { debianImage } from '@tsvirt/testimages';
import { type DaemonChoice, findAppliance, launch } from '../src/index.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    launches: { type: 'string', default: '1' },
  },
});
const calls = Number(values.calls);
const launches = Number(values.launches);
const BIG = 50 * 1024 * 1024;

interface Figures {
  launch: number;
  nodeStart: number | null;
  daemonUp: number | null;
  isFile: number;
  caseSensitivePath: number;
  upload: number;
  download: number;
}

const work = mkdtempSync(join(tmpdir(), 'tsguestfs-bench-daemons-'));
try {
  const guest = await debianImage({ layout: 'mbr-ext4' });
  writeFileSync(join(work, 'big'), randomBytes(BIG));
  await findAppliance(undefined, 'ts'); // built before timing, if needed

  async function measure(daemon: DaemonChoice): Promise<Figures> {
    const scratch = join(work, `scratch-${daemon}.img`);
    writeFileSync(scratch, '');
    truncateSync(scratch, 2 * BIG);
    const consoleLog = join(work, `console-${daemon}.log`);
    const t0 = performance.now();
    const g = await launch({
      drives: [
        { source: guest.path, readonly: true },
        { source: scratch, format: 'raw' },
      ],
      daemon,
      accel: 'tcg',
      verbose: true,
      consoleLog,
    });
    await g.echoDaemon(['up']);
    const launched = (performance.now() - t0) / 1000;
    await g.mountRo('/dev/sda1', '/');
    let t = performance.now();
    for (let i = 0; i < calls; i++) await g.isFile('/etc/fstab');
    const isFile = calls / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < calls / 10; i++) await g.caseSensitivePath('/ETC/DEFAULT/GRUB');
    const caseSensitivePath = calls / 10 / ((performance.now() - t) / 1000);
    await g.umountAll();
    await g.upload(join(work, 'big'), '/dev/sdb');
    t = performance.now();
    await g.upload(join(work, 'big'), '/dev/sdb');
    const upload = (performance.now() - t) / 1000;
    t = performance.now();
    await g.download('/dev/sdb', '/dev/null');
    const download = (performance.now() - t) / 1000;
    await g.close(); // the console log is complete once the appliance is gone
    // /init prints its uptime just before it starts the daemon; ours prints two more.
    const console = readFileSync(consoleLog, 'utf8');
    const uptime = (re: RegExp): number | null => {
      const m = re.exec(console);
      return m === null ? null : Number(m[1]);
    };
    const beforeDaemon = uptime(/^uptime: (?:\+ cat \/proc\/uptime\r?\n)?([0-9.]+) /m);
    const started = uptime(/started \(Node\.js and the modules loaded\) at uptime ([0-9.]+)/);
    const up = uptime(/launch flag sent at uptime ([0-9.]+)/);
    return {
      launch: launched,
      nodeStart: beforeDaemon !== null && started !== null ? started - beforeDaemon : null,
      daemonUp: beforeDaemon !== null && up !== null ? up - beforeDaemon : null,
      isFile,
      caseSensitivePath,
      upload,
      download,
    };
  }

  const runs: Record<DaemonChoice, Figures[]> = { c: [], ts: [] };
  for (let i = 0; i < launches; i++) {
    runs.c.push(await measure('c'));
    runs.ts.push(await measure('ts'));
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const row = (what: string, pick: (f: Figures) => number | null, digits = 2): void => {
    const c = runs.c.map(pick);
    const ts = runs.ts.map(pick);
    const show = (xs: (number | null)[]): string =>
      xs.every((x) => x !== null) ? median(xs).toFixed(digits) : '-';
    const ratio =
      c.every((x) => x !== null) && ts.every((x) => x !== null)
        ? (median(ts) / median(c)).toFixed(2)
        : '-';
    console.log(
      `${what.padEnd(44)}${show(ts).padStart(10)}${show(c).padStart(10)}${ratio.padStart(8)}`,
    );
  };
  console.log(
    `${'what'.padEnd(44)}${'TS daemon'.padStart(10)}${'C daemon'.padStart(10)}${'ratio'.padStart(8)}`,
  );
  row('launch to first call (s)', (f) => f.launch, 1);
  row('Node.js start: exec to main (s)', (f) => f.nodeStart);
  row('daemon exec to launch flag (s)', (f) => f.daemonUp);
  row(`${calls} is_file: calls/s`, (f) => f.isFile, 0);
  row(`${calls / 10} case_sensitive_path: calls/s`, (f) => f.caseSensitivePath, 0);
  row('upload 50 MB to a disk (s)', (f) => f.upload);
  row('download 50 MB from a disk (s)', (f) => f.download);
  console.log(
    `ratio: TS daemon / C daemon, medians of ${launches} launch(es) each (for calls/s, above 1 is faster)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
