// libvirtd probes qemu's capabilities (seconds under TCG) the first time a node needs them,
// and caches the result in /var/cache/libvirt/qemu/capabilities. All nodes run the same qemu
// on the same host, so one probe serves every node of every cluster: the result is kept in
// the shared cache and copied into each new node, and libvirtd still re-probes if qemu or
// libvirt changed (the file records their ctimes and versions).
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execChecked } from './exec.js';
import { CACHE_DIR } from './paths.js';

const SHARED = join(CACHE_DIR, 'qemu-capabilities');

const nodeCapsDir = (nodeCacheDir: string): string => join(nodeCacheDir, 'qemu', 'capabilities');

function copyXml(from: string, to: string): number {
  if (!existsSync(from)) return 0;
  const files = readdirSync(from).filter((f) => f.endsWith('.xml'));
  if (files.length === 0) return 0;
  mkdirSync(to, { recursive: true });
  for (const f of files) copyFileSync(join(from, f), join(to, f));
  return files.length;
}

/** Copies the shared capabilities into a node's cache dir before its libvirtd starts.
 *  Returns false when there are none yet. */
export function seedQemuCapabilities(nodeCacheDir: string): boolean {
  return copyXml(SHARED, nodeCapsDir(nodeCacheDir)) > 0;
}

/** Makes the first node probe every emulator (capabilities asks for all; over its unix socket) and shares the result with the other
 *  nodes, whose libvirtd reads its cache only when it first needs it. */
export async function probeAndShareQemuCapabilities(
  firstNodeSocket: string,
  nodeCacheDirs: readonly string[],
): Promise<void> {
  const [first, ...others] = nodeCacheDirs;
  if (first === undefined) return;
  await execChecked([
    'virsh',
    '-q',
    '-c',
    `qemu+unix:///system?socket=${firstNodeSocket}`,
    'capabilities',
  ]);
  if (copyXml(nodeCapsDir(first), SHARED) === 0) return;
  for (const dir of others) copyXml(SHARED, nodeCapsDir(dir));
}
