// Where a cluster keeps its state on the host, and where a node's directories go.
import { join } from 'node:path';

/** Every cluster's directory is under here, one per name; the guest image cache too. */
export const STATE_ROOT = '/var/tmp/tsvirt-cluster';
export const CACHE_DIR = join(STATE_ROOT, 'cache');

export function clusterDir(name: string): string {
  return join(STATE_ROOT, name);
}

/**
 * The directories a node has of its own, bind-mounted over the host's paths inside the
 * node's mount namespace. `key` names the host-side directory under the node's dir.
 */
export const NODE_MOUNTS = [
  { key: 'run', target: '/run/libvirt' },
  { key: 'lib', target: '/var/lib/libvirt' },
  { key: 'etc', target: '/etc/libvirt' },
  { key: 'log', target: '/var/log/libvirt' },
  { key: 'cache', target: '/var/cache/libvirt' },
  { key: 'dot-ssh', target: '/root/.ssh' },
] as const;

export type NodeDirKey = (typeof NODE_MOUNTS)[number]['key'];

/** Host-side paths of one node's files. */
export class NodePaths {
  constructor(readonly dir: string) {}

  sub(key: NodeDirKey | 'sshd' | 'passwd' | 'group'): string {
    return join(this.dir, key);
  }
  get libvirtSocket(): string {
    return join(this.dir, 'run', 'libvirt-sock');
  }
  get libvirtdPidFile(): string {
    return join(this.dir, 'run', 'libvirtd.pid');
  }
  get libvirtdLog(): string {
    return join(this.dir, 'log', 'libvirtd.log');
  }
  get imagesDir(): string {
    return join(this.dir, 'lib', 'images');
  }
  get sshdConfig(): string {
    return join(this.dir, 'sshd', 'sshd_config');
  }
  get sshdPidFile(): string {
    return join(this.dir, 'sshd', 'sshd.pid');
  }
  get sshdLog(): string {
    return join(this.dir, 'sshd', 'sshd.log');
  }
  get hostKey(): string {
    return join(this.dir, 'sshd', 'ssh_host_ed25519_key');
  }
}
