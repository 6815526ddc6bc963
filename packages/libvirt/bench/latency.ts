/**
 * Node info + domain listing latency: this client against `virsh -c URI` for the same data,
 * over the unix socket and over ssh, on a test cluster node (127.0.17.x) with a few domains.
 *
 *   node packages/libvirt/dist/bench/latency.js [iterations]
 *
 * "cold" is what a command line tool pays: connect, ask, close (virsh: one process running
 * `nodeinfo; list --all`). "warm" reuses one open connection (virsh has no equivalent; shown
 * against virsh's cold figure because that is the alternative a user has).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tinyGuestXml } from '@tsvirt/testcluster';
import { type LibvirtConnection, connect } from '../src/index.js';
import { sshOptions, startTestCluster } from '../test/support/cluster.js';

const run = promisify(execFile);
const iterations = Number(process.argv[2] ?? 15);

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function median(f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: page cache, ssh master key exchange paths...
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) samples.push(await timeMs(f));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

async function nodeInfoAndList(conn: LibvirtConnection): Promise<void> {
  const [info, domains] = await Promise.all([conn.getNodeInfo(), conn.listAllDomains()]);
  if (info.cpus < 1 || domains.length < 3) throw new Error('unexpected answer');
}

const cluster = await startTestCluster('bench', 1);
try {
  const node = cluster.nodes[0]!;
  const setup = await connect(node.unixUri);
  for (let i = 1; i <= 3; i++) {
    await setup.defineDomainXml(
      tinyGuestXml({ name: `bench-${i}`, disk: `/var/lib/libvirt/images/bench-${i}.img` }),
    );
  }
  await setup.close();

  const rows: string[][] = [];
  for (const [label, ourUri, options, virshUri] of [
    ['unix', node.unixUri, {}, node.unixUri],
    ['ssh', node.uri, sshOptions(cluster), node.virshUri],
  ] as const) {
    const virsh = await median(() => run('virsh', ['-c', virshUri, 'nodeinfo; list --all']));
    const cold = await median(async () => {
      const conn = await connect(ourUri, options);
      await nodeInfoAndList(conn);
      await conn.close();
    });
    const conn = await connect(ourUri, options);
    const warm = await median(() => nodeInfoAndList(conn));
    await conn.close();
    rows.push([
      label,
      virsh.toFixed(1),
      cold.toFixed(1),
      (virsh / cold).toFixed(2),
      warm.toFixed(2),
      (virsh / warm).toFixed(0),
    ]);
  }
  console.log(
    `node info + list of all domains, median of ${iterations} runs (ms); ratio = virsh time / ours`,
  );
  console.log(['transport', 'virsh', 'ours cold', 'ratio', 'ours warm', 'ratio'].join('\t'));
  for (const r of rows) console.log(r.join('\t'));
} finally {
  await cluster.stop();
}
