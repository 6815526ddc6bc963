/**
 * The integration tests run against a real cluster of libvirtd + sshd nodes from
 * @tsvirt/testcluster, on the loopback addresses reserved for this package (127.0.17.x; cluster names lv-*).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Cluster, type ClusterNode, startCluster } from '@tsvirt/testcluster';
import type { ConnectOptions } from '../../src/index.js';

const run = promisify(execFile);

export const ADDRESS_PREFIX = '127.0.17.';

export function startTestCluster(name: string, nodes: number, offNodes = 0): Promise<Cluster> {
  return startCluster({ name: `lv-${name}`, nodes, offNodes, addressPrefix: ADDRESS_PREFIX });
}

/** Connect options for the ssh transport with the cluster's ssh configuration. */
export function sshOptions(cluster: Cluster, extra: ConnectOptions = {}): ConnectOptions {
  return { ...extra, ssh: { configFile: cluster.sshConfig, ...extra.ssh } };
}

/** virsh on the node's unix socket, from the host; returns stdout. */
export async function virsh(node: ClusterNode, ...args: string[]): Promise<string> {
  return (await run('virsh', ['-c', node.unixUri, ...args])).stdout;
}

/** `Key:   value` lines of virsh output as a map. */
export function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

export const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

export const kib = (s: string | undefined): bigint =>
  BigInt((s ?? '').replace(/ KiB$/, '')) * 1024n;

export async function waitFor(
  what: string,
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
