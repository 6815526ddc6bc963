// The text of every configuration file a cluster writes. Pure functions, unit-tested.
import { ACCEL_ENV, type AccelChoice } from './accel.js';

/** libvirtd.conf of a node: its own host UUID (libvirt refuses to migrate between two hosts
 *  with the same one) and no authentication on its unix socket, which only root reaches. */
export function libvirtdConf(hostUuid: string): string {
  return [
    '# Written by @tsvirt/testcluster for one node of a test cluster.',
    `host_uuid = "${hostUuid}"`,
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    'unix_sock_rw_perms = "0700"',
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    '',
  ].join('\n');
}

/** qemu.conf of a node: guests run as root with no security driver (there is no libvirt-qemu
 *  user to switch to, nor AppArmor here), serial consoles go straight to files (no virtlogd
 *  daemon), and migration listens on the node's own address. */
export function qemuConf(address: string): string {
  return [
    '# Written by @tsvirt/testcluster for one node of a test cluster.',
    'user = "root"',
    'group = "root"',
    'dynamic_ownership = 0',
    'security_driver = "none"',
    'stdio_handler = "file"',
    'namespaces = []',
    `migration_host = "${address}"`,
    `migration_address = "${address}"`,
    '',
  ].join('\n');
}

/** The `default` storage pool, autostarted by libvirtd when it starts. */
export function defaultPoolXml(): string {
  return [
    "<pool type='dir'>",
    '  <name>default</name>',
    '  <target>',
    '    <path>/var/lib/libvirt/images</path>',
    '  </target>',
    '</pool>',
    '',
  ].join('\n');
}

export interface SshdPaths {
  hostKey: string;
  pidFile: string;
}

/** sshd_config of a node: only its own address, key login for root, nothing else. */
export function sshdConfig(address: string, paths: SshdPaths): string {
  return [
    '# Written by @tsvirt/testcluster for one node of a test cluster.',
    `ListenAddress ${address}:22`,
    `HostKey ${paths.hostKey}`,
    `PidFile ${paths.pidFile}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The keys live under /var/tmp, whose mode (1777) StrictModes would reject.
    'StrictModes no',
    'AuthorizedKeysFile /root/.ssh/authorized_keys',
    'PrintMotd no',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

/** ~/.ssh/config inside every node, for node-to-node ssh (peer-to-peer migration). */
export function nodeSshClientConfig(): string {
  return [
    '# Written by @tsvirt/testcluster: ssh from one node of a test cluster to another.',
    'Host *',
    '  IdentityFile /root/.ssh/id_ed25519',
    '  UserKnownHostsFile /root/.ssh/known_hosts',
    '  StrictHostKeyChecking accept-new',
    '  BatchMode yes',
    '  ConnectTimeout 5',
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/** The ssh_config fragment for use from the host: `ssh -F FILE root@ADDRESS`. */
export function clusterSshConfig(
  addresses: readonly string[],
  privateKey: string,
  knownHosts: string,
): string {
  return [
    '# Written by @tsvirt/testcluster: use with `ssh -F THIS_FILE root@ADDRESS`, or Include it',
    '# from ~/.ssh/config.',
    `Host ${addresses.join(' ')}`,
    '  User root',
    `  IdentityFile ${privateKey}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHosts}`,
    '  StrictHostKeyChecking accept-new',
    '  BatchMode yes',
    '  ConnectTimeout 5',
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/** A `known_hosts` line for a node's host key (`ssh-ed25519 AAAA... comment`). */
export function knownHostsLine(address: string, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  return `${address} ${type ?? ''} ${key ?? ''}\n`;
}

/** An ssh wrapper for libvirt's `?command=` URI parameter: virsh then reaches the nodes with
 *  the cluster's configuration (virsh has no option for ssh's -F). */
export function sshWrapper(sshConfig: string): string {
  return `#!/bin/sh\n# Written by @tsvirt/testcluster: ssh with the test cluster's configuration.\nexec ssh -F '${sshConfig}' "$@"\n`;
}

export interface McluNodeEntry {
  name: string;
  sshDestination: string;
  macAddress: string;
}

export interface McluConfOptions {
  clusterName: string;
  templatesDir: string;
  sshConfig: string;
  poweroffCommand: string;
  wolAddress: string;
  /** What the guests run under and why (see accel.ts). */
  accel: AccelChoice;
  nodes: readonly McluNodeEntry[];
}

/** TOML basic string: JSON's escapes are a subset of TOML's. */
const tomlString = (s: string): string => JSON.stringify(s);

/** mclu.conf describing the cluster (the schema of packages/mclu's config.ts). */
export function mcluConf(o: McluConfOptions): string {
  const lines = [
    `# mclu configuration for the test cluster "${o.clusterName}", written by @tsvirt/testcluster.`,
    '# Use: mclu -f THIS_FILE status   (or MCLU_CONFIG=THIS_FILE mclu status)',
    '',
    '[defaults]',
    `# ${o.accel.domainType === 'kvm' ? 'KVM' : 'Software emulation (TCG)'}: ${o.accel.reason.replace(/\n/g, ' ')}`,
    `# Force with ${ACCEL_ENV}=tcg|kvm (or testcluster up --accel tcg|kvm).`,
    `domain_type = ${tomlString(o.accel.domainType)}`,
    'memory = "128M"',
    'vcpus = 1',
    'format = "qcow2"',
    'network = "user"      # user-mode networking, no bridge needed',
    `templates = [${tomlString(o.templatesDir)}]`,
    'images = "/var/lib/libvirt/images"',
    `ssh_config = ${tomlString(o.sshConfig)}`,
    'connect_timeout = 5',
    '# Powers off only this node of the test cluster (stops its guests, libvirtd and sshd).',
    `poweroff_command = ${tomlString(o.poweroffCommand)}`,
  ];
  for (const node of o.nodes) {
    lines.push(
      '',
      `[nodes.${node.name}]`,
      `host = ${tomlString(node.sshDestination)}`,
      `mac = ${tomlString(node.macAddress)}`,
      `wol_address = ${tomlString(o.wolAddress)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** /etc/passwd and /etc/group for a node: the host's, plus the libvirt-qemu user and group
 *  that libvirtd looks up at start even when qemu.conf says root (Debian creates them in
 *  libvirt-daemon-system, which needs systemd), and root's login shell set to /bin/sh: a
 *  node stands for another machine, so the host's ~/.bashrc (which bash reads for every
 *  command run over ssh, and which may start pyenv, conda...) is not run on each session.
 *  The host's files are never changed. */
export function nodeUsers(passwd: string, group: string): { passwd: string; group: string } {
  const add = (text: string, name: string, line: string): string =>
    text.split('\n').some((l) => l.startsWith(`${name}:`))
      ? text
      : `${text.replace(/\n?$/, '\n')}${line}\n`;
  const rootShell = (text: string): string =>
    text.replace(/^(root:(?:[^:\n]*:){5})[^:\n]*$/m, '$1/bin/sh');
  return {
    passwd: rootShell(
      add(
        passwd,
        'libvirt-qemu',
        'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin',
      ),
    ),
    group: add(add(group, 'libvirt-qemu', 'libvirt-qemu:x:64055:'), 'kvm', 'kvm:x:64056:'),
  };
}

/** A locally administered MAC made from the node's IPv4 address (unique per address). */
export function macFromAddress(address: string): string {
  const octets = address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return ['02', '00', ...octets].join(':');
}
