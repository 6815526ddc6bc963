// Benchmark: `mclu status` over 1, 3 and 8 nodes against the obvious alternative, a loop of
// `virsh -c qemu+ssh://... nodeinfo` and `virsh ... list` per node. Nodes beyond the real
// ones are repeated entries (another name for the same node), which is what a bigger
// cluster costs mclu: one more parallel connection. Run by hand, as root:
//   node packages/mclu/dist/bench/status.js            (starts its own 3-node cluster)
//   MCLU_BENCH_CLUSTER=NAME node ...                     (uses a running testcluster NAME)
import { openCluster, startCluster, type Cluster } from '@tsvirt/testcluster';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ROUNDS = 3;

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 120_000 }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`${program} ${args.join(' ')}: ${stderr || error.message}`))
        : resolve(),
    );
  });
}

async function timed(work: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

/** A config whose nodes are `count` entries cycling over the cluster's real nodes. */
async function configWith(cluster: Cluster, dir: string, count: number): Promise<string> {
  const base = await readFile(cluster.mcluConfig, 'utf8');
  const defaults = base.slice(0, base.indexOf('[nodes.'));
  const on = cluster.nodes.filter((n) => n.state === 'on');
  const entries = Array.from({ length: count }, (_, i) => {
    const node = on[i % on.length];
    return `[nodes.n${i + 1}]\nhost = "${node?.sshDestination ?? ''}"\n`;
  });
  const file = join(dir, `mclu-${count}.conf`);
  await writeFile(file, `${defaults}\n${entries.join('\n')}`);
  return file;
}

async function main(): Promise<void> {
  const existing = process.env['MCLU_BENCH_CLUSTER'];
  const cluster = existing
    ? openCluster(existing)
    : await startCluster({ name: 'mclu-bench', nodes: 3, addressPrefix: '127.0.3.' });
  if (cluster === null)
    throw new Error(
      `no running test cluster named ${existing}; start one with \`testcluster up --name ${existing}\``,
    );
  const dir = await mkdtemp(join(tmpdir(), 'mclu-bench-'));
  try {
    const on = cluster.nodes.filter((n) => n.state === 'on');
    console.log(
      `mclu status vs a virsh loop (nodeinfo + list per node), median of ${ROUNDS} runs, ${on.length} real nodes`,
    );
    console.log('nodes  mclu status  virsh loop  virsh/mclu  mclu N/1');
    let single = 0;
    for (const count of [1, 3, 8]) {
      const config = await configWith(cluster, dir, count);
      const mclu = await timed(() =>
        run(process.execPath, [MAIN, '-f', config, 'status', '--json']),
      );
      const virsh = await timed(async () => {
        for (let i = 0; i < count; i++) {
          const uri = on[i % on.length]?.virshUri ?? '';
          await run('virsh', ['-c', uri, 'nodeinfo']);
          await run('virsh', ['-c', uri, 'list']);
        }
      });
      if (count === 1) single = mclu;
      console.log(
        `${String(count).padStart(5)}  ${(mclu / 1000).toFixed(2).padStart(9)} s  ${(virsh / 1000).toFixed(2).padStart(8)} s  ${(virsh / mclu).toFixed(2).padStart(9)}x  ${(mclu / single).toFixed(2).padStart(7)}x`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    if (!existing) await cluster.stop();
  }
}

await main();
