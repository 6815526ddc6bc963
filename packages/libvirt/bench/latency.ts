/**
 * Node info + domain listing latency: this client against `virsh -c URI` for the same data,
 * over the unix socket and over ssh, on a test cluster node (127.0.17.x) with a few domains.
 *
 *   node packages/libvirt/dist/bench/latency.js [iterations] [--before DIR]
 *
 * `--before DIR` also measures another build of this package (DIR is its package directory,
 * built: e.g. main's, to see what a change does) in the same run against the same node, the
 * two taking turns sample by sample.
 *
 * "cold" is what a command line tool pays: connect, ask, close (virsh: one process running
 * `nodeinfo; list --all`). "warm" reuses one open connection (virsh has no equivalent; shown
 * against virsh's cold figure because that is the alternative a user has).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { tinyGuestXml } from '@tsvirt/testcluster';
import { type LibvirtConnection, connect } from '../src/index.js';
import { sshOptions, startTestCluster } from '../test/support/cluster.js';

const run = promisify(execFile);
const { values, positionals } = parseArgs({
  options: { before: { type: 'string' } },
  allowPositionals: true,
});
const iterations = Number(positionals[0] ?? 15);

/** What the bench needs of a client, so that another build of it can be measured too. */
type Client = Pick<LibvirtConnection, 'getNodeInfo' | 'listAllDomains' | 'close'>;
type Connect = (...args: Parameters<typeof connect>) => Promise<Client>;
const clients: [string, Connect][] = [['ours', connect]];
if (values.before !== undefined) {
  const entry = pathToFileURL(resolve(values.before, 'dist/src/index.js')).href;
  clients.unshift(['before', ((await import(entry)) as { connect: Connect }).connect]);
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The median time of each task, the tasks taking turns in every round, so that a change in
 *  the machine's load (it is shared) falls on all of them alike. */
async function medians(tasks: (() => Promise<unknown>)[]): Promise<number[]> {
  for (const task of tasks) await task(); // warm-up: page cache, ssh master key exchange...
  const samples = tasks.map((): number[] => []);
  for (let i = 0; i < iterations; i++) {
    for (const [k, task] of tasks.entries()) samples[k]!.push(await timeMs(task));
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

async function nodeInfoAndList(conn: Client): Promise<void> {
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
    const [virsh, ...cold] = await medians([
      () => run('virsh', ['-c', virshUri, 'nodeinfo; list --all']),
      ...clients.map(([, connectWith]) => async () => {
        const conn = await connectWith(ourUri, options);
        await nodeInfoAndList(conn);
        await conn.close();
      }),
    ]);
    const open = await Promise.all(clients.map(([, connectWith]) => connectWith(ourUri, options)));
    const warm = await medians(open.map((conn) => () => nodeInfoAndList(conn)));
    await Promise.all(open.map((conn) => conn.close()));
    for (const [k, [client]] of clients.entries()) {
      rows.push([
        label,
        client,
        virsh!.toFixed(1),
        cold[k]!.toFixed(1),
        (virsh! / cold[k]!).toFixed(2),
        warm[k]!.toFixed(2),
        (virsh! / warm[k]!).toFixed(0),
      ]);
    }
  }
  console.log(
    `node info + list of all domains, median of ${iterations} runs (ms); ratio = virsh time / the client's`,
  );
  console.log(['transport', 'client', 'virsh', 'cold', 'ratio', 'warm', 'ratio'].join('\t'));
  for (const r of rows) console.log(r.join('\t'));
} finally {
  await cluster.stop();
}
