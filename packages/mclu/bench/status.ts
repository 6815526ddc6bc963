// Benchmark: `mclu status` over 1, 3 and 8 nodes against the obvious alternative, a loop of
// `virsh -c qemu+ssh://... nodeinfo` and `virsh ... list` per node. Nodes beyond the real
// ones are repeated entries (another name for the same node): one more parallel
// connection for mclu. A third column runs mclu with OpenSSH connection sharing
// (ControlMaster/ControlPersist in the ssh_config it is given), warmed by one call.
// Run by hand, as root:
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

/** Median wall time of ROUNDS runs, in seconds. */
async function timed(work: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
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
  sshConfig: string,
): Promise<string> {
  const base = await readFile(cluster.mcluConfig, 'utf8');
  const defaults = base
    .slice(0, base.indexOf('[nodes.'))
    .replace(/^ssh_config = .*$/m, `ssh_config = ${JSON.stringify(sshConfig)}`);
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
    : await startCluster({ name: 'mclu-bench', nodes: 3, addressPrefix: '127.0.3.' });
  if (cluster === null)
    throw new Error(
      `no running test cluster named ${existing}; start one with \`testcluster up --name ${existing}\``,
    );
  const dir = await mkdtemp(join(tmpdir(), 'mclu-bench-'));
  const shared = join(dir, 'ssh_config_shared');
  const on = cluster.nodes.filter((n) => n.state === 'on');
  try {
    const base = await readFile(cluster.sshConfig, 'utf8');
    await writeFile(
      shared,
      `${base}\nHost *\n  ControlMaster auto\n  ControlPath ${dir}/cm-%C\n  ControlPersist 60\n`,
    );
    console.log(
      `mclu status vs a virsh loop (nodeinfo + list per node); median of ${ROUNDS} runs; ${on.length} real nodes`,
    );
    console.log(
      'nodes  virsh loop  mclu status  virsh/mclu  mclu N/1  mclu shared-ssh  virsh/shared',
    );
    let single = 0;
    for (const count of [1, 3, 8]) {
      const plain = await configWith(
        cluster,
        join(dir, `plain-${count}.conf`),
        count,
        cluster.sshConfig,
      );
      const sharing = await configWith(cluster, join(dir, `shared-${count}.conf`), count, shared);
      const virsh = await timed(async () => {
        for (let i = 0; i < count; i++) {
          const uri = on[i % on.length]?.virshUri ?? '';
          await run('virsh', ['-c', uri, 'nodeinfo']);
          await run('virsh', ['-c', uri, 'list']);
        }
      });
      const mclu = await timed(() =>
        run(process.execPath, [MAIN, '-f', plain, 'status', '--json']),
      );
      await run(process.execPath, [MAIN, '-f', sharing, 'status', '--json']); // opens the masters
      const mcluShared = await timed(() =>
        run(process.execPath, [MAIN, '-f', sharing, 'status', '--json']),
      );
      if (count === 1) single = mclu;
      const s = (x: number): string => `${x.toFixed(2)} s`;
      console.log(
        `${String(count).padStart(5)}  ${s(virsh).padStart(10)}  ${s(mclu).padStart(11)}  ${`${(virsh / mclu).toFixed(2)}x`.padStart(10)}  ${`${(mclu / single).toFixed(2)}x`.padStart(8)}  ${s(mcluShared).padStart(15)}  ${`${(virsh / mcluShared).toFixed(2)}x`.padStart(12)}`,
      );
    }
  } finally {
    // Stop the shared ssh masters this bench started, then remove everything.
    await Promise.all(
      on.map((n) =>
        run('ssh', ['-F', shared, '-O', 'exit', n.sshDestination]).catch(() => undefined),
      ),
    );
    await rm(dir, { recursive: true, force: true });
    if (!existing) await cluster.stop();
  }
}

await main();
