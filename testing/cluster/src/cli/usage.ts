// What `testcluster up` and `status` print: the cluster and exactly what to do next.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import which from 'which';
import { describeAccel } from '../accel.js';
import type { Cluster } from '../cluster.js';
import { clusterHealth } from '../cluster.js';
import { findProcessesUsing } from '../processes.js';
import { templatesDir } from '../template.js';

/** mclu's command line in this checkout (packages/mclu), if it is built. */
const MCLU_CLI = join(
  templatesDir,
  '..',
  '..',
  '..',
  'packages',
  'mclu',
  'dist',
  'src',
  'cli',
  'main.js',
);

export function describeCluster(cluster: Cluster): string {
  const lines: string[] = [`cluster "${cluster.name}" (${cluster.dir})`];
  for (const { node, libvirtd, sshd } of clusterHealth(cluster)) {
    const state =
      libvirtd && sshd
        ? 'on'
        : !libvirtd && !sshd
          ? 'off (nothing listening)'
          : `BROKEN (libvirtd ${libvirtd ? 'up' : 'gone'}, sshd ${sshd ? 'up' : 'gone'}; restart with testcluster up --name ${cluster.name})`;
    lines.push(
      `  ${node.name.padEnd(7)} ${node.sshDestination.padEnd(18)} ${node.macAddress}  ${state}`,
    );
  }
  lines.push(`  ${describeAccel(cluster.accel)}`);
  if (wakeOnLanListening(cluster.dir)) {
    lines.push(`  wake-on-LAN: a magic packet to ${cluster.wolAddress} powers a node on`);
  }
  return lines.join('\n');
}

export function nextSteps(cluster: Cluster): string {
  const first = cluster.nodes[0];
  const second = cluster.nodes[1] ?? first;
  if (first === undefined || second === undefined) return '';
  const off = clusterHealth(cluster).find((h) => !h.libvirtd && !h.sshd)?.node;
  const down =
    cluster.name === 'default' ? 'testcluster down' : `testcluster down --name ${cluster.name}`;
  const mclu =
    which.sync('mclu', { nothrow: true }) !== null
      ? []
      : existsSync(MCLU_CLI)
        ? [`  alias mclu='node ${MCLU_CLI}'   # or every command on PATH: scripts/install`]
        : ['  # mclu is packages/mclu: put it on PATH with scripts/install'];
  return [
    'next steps:',
    `  # a shell command on ${first.name}, and libvirt over ssh from here:`,
    `  ssh -F ${cluster.sshConfig} ${first.sshDestination} virsh list --all`,
    `  virsh -c '${first.virshUri}' nodeinfo`,
    '  # mclu against this cluster:',
    ...mclu,
    `  export MCLU_CONFIG=${cluster.mcluConfig}`,
    '  mclu status',
    `  mclu boot tiny ${first.name}:demo      # the test guest: ${cluster.accel.domainType === 'kvm' ? 'KVM, boots in seconds' : 'TCG, boots in about 10 s'}`,
    '  mclu list',
    `  mclu console demo               # its serial console (Ctrl+] leaves)`,
    `  mclu migrate demo ${second.name}       # live migration, disk copied`,
    ...(off === undefined
      ? []
      : [`  mclu on ${off.name}                   # wake-on-LAN: the node starts`]),
    '  mclu destroy demo && mclu delete demo --yes',
    `  # when done (stops every process, removes every file):`,
    `  ${down}`,
  ].join('\n');
}

function wakeOnLanListening(dir: string): boolean {
  return findProcessesUsing(dir).some((p) => !p.inNamespace);
}
