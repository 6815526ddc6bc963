// Benchmark: `mclu status` over 1, 3 and 8 nodes against the obvious alternative, a loop of
// `virsh -c qemu+ssh://... nodeinfo` and `virsh ... list` per node. Nodes beyond the real
// ones are repeated entries (another name for the same node): one more parallel connection
// for mclu. mclu runs as users run it, with ssh connection sharing on (the default):
// "cold" is the first command (no ssh master yet: every node pays the ssh handshake and
// mclu leaves a master behind), "warm" a command while the masters live.
// Run by hand, as root:
//   node packages/mclu/dist/bench/status.js            (starts its own 3-node cluster)
//   MCLU_BENCH_CLUSTER=NAME node ...                     (uses a running testcluster NAME)
import { openCluster, startCluster, type Cluster } from '@tsvirt/testcluster';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopSshMasters } from '../test/support/cluster.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ROUNDS = 5;

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 120_000 }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`${program} ${args.join(' ')}: ${stderr || error.message}`))
        : resolve(),
    );
  });
}

/** Median wall time of ROUNDS runs of `work`, in seconds; `prepare` runs before each, untimed. */
async function timed(work: () => Promise<void>, prepare?: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await prepare?.();
    const start = performance.now();
    await work();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

/** A config whose nodes are `count` entries cycling over the cluster's real nodes. */
async function configWith(
  cluster: Cluster,
  file: string,
  count: number,
  controlDir: string,
): Promise<string> {
  const base = await readFile(cluster.mcluConfig, 'utf8');
  const defaults = base
    .slice(0, base.indexOf('[nodes.'))
    .replace(/^\[defaults\]$/m, `[defaults]\nssh_control_dir = ${JSON.stringify(controlDir)}`);
  const on = cluster.nodes.filter((n) => n.state === 'on');
  const entries = Array.from(
    { length: count },
    (_, i) => `[nodes.n${i + 1}]\nhost = "${on[i % on.length]?.sshDestination ?? ''}"\n`,
  );
  await writeFile(file, `${defaults}\n${entries.join('\n')}`);
  return file;
}

async function main(): Promise<void> {
  const existing = process.env['MCLU_BENCH_CLUSTER'];
  const cluster = existing
    ? openCluster(existing)
    : await startCluster({ name: 'mclu-bench', nodes: 3, addressPrefix: '127.0.36.' });
  if (cluster === null)
    throw new Error(
      `no running test cluster named ${existing}; start one with \`testcluster up --name ${existing}\``,
    );
  // Short: ssh's control socket paths must fit in 108 bytes.
  const dir = await mkdtemp('/tmp/mclu-bench-');
  const controlDir = join(dir, 'cm');
  const on = cluster.nodes.filter((n) => n.state === 'on');
  try {
    console.log(
      `mclu status vs a virsh loop (nodeinfo + list per node); median of ${ROUNDS} runs; ${on.length} real nodes`,
    );
    console.log('nodes  virsh loop  mclu cold  mclu warm  virsh/cold  virsh/warm');
    for (const count of [1, 3, 8]) {
      const config = await configWith(cluster, join(dir, `${count}.conf`), count, controlDir);
      const status = (): Promise<void> =>
        run(process.execPath, [MAIN, '-f', config, 'status', '--json']);
      const virsh = await timed(async () => {
        for (let i = 0; i < count; i++) {
          const uri = on[i % on.length]?.virshUri ?? '';
          await run('virsh', ['-c', uri, 'nodeinfo']);
          await run('virsh', ['-c', uri, 'list']);
        }
      });
      const cold = await timed(status, () => stopSshMasters(controlDir));
      await status(); // the masters are up now
      const warm = await timed(status);
      const s = (x: number): string => `${x.toFixed(2)} s`;
      const r = (x: number): string => `${x.toFixed(2)}x`;
      console.log(
        `${String(count).padStart(5)}  ${s(virsh).padStart(10)}  ${s(cold).padStart(9)}  ${s(warm).padStart(9)}  ${r(virsh / cold).padStart(10)}  ${r(virsh / warm).padStart(10)}`,
      );
    }
  } finally {
    await stopSshMasters(controlDir);
    await rm(dir, { recursive: true, force: true });
    if (!existing) await cluster.stop();
  }
}

await main();
