// One node of a test cluster: a private mount namespace (held open by a `sleep` process) in
// which the node's own directories are bind-mounted over libvirt's and root's ssh paths, and
// in which the node's libvirtd and sshd run.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  defaultPoolXml,
  libvirtdConf,
  nodeSshClientConfig,
  qemuConf,
  sshdConfig,
  nodeUsers,
} from './config-files.js';
import { ClusterError } from './errors.js';
import { exec, execChecked, type ExecResult } from './exec.js';
import type { NodePaths } from './paths.js';
import { NODE_MOUNTS } from './paths.js';
import { isAlive } from './processes.js';

export interface NodeSpec {
  name: string;
  address: string;
  paths: NodePaths;
}

export interface ClusterKeys {
  privateKey: string;
  publicKey: string;
  /** known_hosts lines for every node, so that node-to-node ssh needs no first-use prompt. */
  knownHosts: string;
}

export interface RunningNode {
  holderPid: number;
  libvirtdPid: number;
  sshdPid: number;
}

/** Creates an ed25519 key pair without a passphrase at `path` (and `path.pub`); returns
 *  the public key line. */
export async function makeKeyPair(path: string, comment: string): Promise<string> {
  await execChecked(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8');
}

/** Creates a node's host key; returns the public key line. */
export async function makeHostKey(spec: NodeSpec): Promise<string> {
  mkdirSync(spec.paths.sub('sshd'), { recursive: true });
  return makeKeyPair(spec.paths.hostKey, spec.name);
}

/** Writes every file of the node (configs, keys, pool) before anything starts. */
export function writeNodeFiles(spec: NodeSpec, keys: ClusterKeys): void {
  const p = spec.paths;
  for (const { key } of NODE_MOUNTS) mkdirSync(p.sub(key), { recursive: true, mode: 0o755 });
  mkdirSync(p.imagesDir, { recursive: true });
  mkdirSync(join(p.sub('log'), 'qemu'), { recursive: true });
  mkdirSync(join(p.sub('etc'), 'storage', 'autostart'), { recursive: true });
  chmodSync(p.sub('dot-ssh'), 0o700);

  const etc = p.sub('etc');
  writeFileSync(join(etc, 'libvirtd.conf'), libvirtdConf(randomUUID()));
  writeFileSync(join(etc, 'qemu.conf'), qemuConf(spec.address));
  writeFileSync(join(etc, 'storage', 'default.xml'), defaultPoolXml());
  symlinkSync('/etc/libvirt/storage/default.xml', join(etc, 'storage', 'autostart', 'default.xml'));
  writeFileSync(join(etc, 'tsvirt-poweroff'), poweroffScript(p));

  const users = nodeUsers(readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8'));
  writeFileSync(p.sub('passwd'), users.passwd);
  writeFileSync(p.sub('group'), users.group);

  const dotSsh = p.sub('dot-ssh');
  writeFileSync(join(dotSsh, 'id_ed25519'), keys.privateKey, { mode: 0o600 });
  writeFileSync(join(dotSsh, 'id_ed25519.pub'), keys.publicKey);
  writeFileSync(join(dotSsh, 'authorized_keys'), keys.publicKey, { mode: 0o600 });
  writeFileSync(join(dotSsh, 'known_hosts'), keys.knownHosts);
  writeFileSync(join(dotSsh, 'config'), nodeSshClientConfig(), { mode: 0o600 });
  writeFileSync(
    p.sshdConfig,
    sshdConfig(spec.address, { hostKey: p.hostKey, pidFile: p.sshdPidFile }),
  );
}

/** What `mclu off` runs on a node: stops this node only, after the ssh session returns. */
function poweroffScript(p: NodePaths): string {
  return [
    '#!/bin/sh',
    '# Written by @tsvirt/testcluster: "powers off" this node of the test cluster by stopping',
    '# its guests, libvirtd and sshd (the machine itself stays up).',
    '(',
    '  sleep 1',
    '  for g in $(virsh -q -c qemu:///system list --name); do virsh -q -c qemu:///system destroy "$g"; done',
    `  kill "$(cat ${p.libvirtdPidFile})" "$(cat ${p.sshdPidFile})"`,
    ') </dev/null >/dev/null 2>&1 &',
    'echo "powering off"',
    '',
  ].join('\n');
}

/** Starts the namespace holder; returns its pid once the namespace exists. */
async function startHolder(): Promise<number> {
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sleep', 'infinity'],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  const pid = child.pid;
  if (pid === undefined)
    throw new ClusterError('START_FAILED', 'could not start unshare (util-linux)');
  const hostNamespace = readlinkSync('/proc/self/ns/mnt');
  for (let i = 0; i < 200; i++) {
    try {
      // unshare execs sleep in place once the namespace is made; same pid.
      if (
        readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' &&
        readlinkSync(`/proc/${pid}/ns/mnt`) !== hostNamespace
      ) {
        return pid;
      }
    } catch {
      break; // the process is gone
    }
    await sleep(10);
  }
  throw new ClusterError(
    'START_FAILED',
    'unshare --mount did not make a mount namespace; the machine must allow mount namespaces for root',
  );
}

/** Runs a command inside the namespace of `holderPid`. */
export function execInNamespace(holderPid: number, argv: readonly string[]): Promise<ExecResult> {
  return exec(['nsenter', '-t', String(holderPid), '-m', '--', ...argv]);
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Host directories that serve as mount points must exist; they are libvirt's and openssh's
 *  own standard directories, left empty. */
export function ensureMountPoints(): void {
  for (const { target } of NODE_MOUNTS) mkdirSync(target, { recursive: true, mode: 0o755 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
}

async function bindMounts(holderPid: number, p: NodePaths): Promise<void> {
  const binds: [string, string][] = [
    ...NODE_MOUNTS.map(({ key, target }): [string, string] => [p.sub(key), target]),
    [p.sub('passwd'), '/etc/passwd'],
    [p.sub('group'), '/etc/group'],
  ];
  const script = binds
    .map(([from, to]) => `mount --bind ${shellQuote(from)} ${shellQuote(to)}`)
    .join(' && ');
  const result = await execInNamespace(holderPid, ['sh', '-c', script]);
  if (result.code !== 0) {
    throw new ClusterError(
      'START_FAILED',
      `bind mounts in the node's namespace failed: ${result.stderr.trim()}`,
    );
  }
}

async function waitFor(
  what: string,
  log: string,
  ready: () => Promise<boolean>,
  timeoutMs = 15000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await sleep(25);
  }
  throw new ClusterError(
    'START_FAILED',
    `${what} did not become ready within ${timeoutMs / 1000} s; see ${log}`,
  );
}

function canConnect(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Starts a node whose files are written: namespace, mounts, libvirtd, sshd. */
export async function startNode(spec: NodeSpec): Promise<RunningNode> {
  const p = spec.paths;
  const holderPid = await startHolder();
  await bindMounts(holderPid, p);

  const libvirtd = await execInNamespace(holderPid, [
    'libvirtd',
    '--daemon',
    '--pid-file',
    '/run/libvirt/libvirtd.pid',
  ]);
  if (libvirtd.code !== 0) {
    throw new ClusterError(
      'START_FAILED',
      `libvirtd of ${spec.name} failed to start: ${libvirtd.stderr.trim()}; see ${p.libvirtdLog}`,
    );
  }
  await waitFor(`libvirtd of ${spec.name}`, p.libvirtdLog, async () => {
    const pid = readPid(p.libvirtdPidFile);
    if (pid === null || !isAlive(pid)) return false;
    return canConnect({ path: p.libvirtSocket });
  });

  const sshd = await execInNamespace(holderPid, [
    '/usr/sbin/sshd',
    '-f',
    p.sshdConfig,
    '-E',
    p.sshdLog,
  ]);
  if (sshd.code !== 0) {
    throw new ClusterError(
      'START_FAILED',
      `sshd of ${spec.name} failed to start: ${sshd.stderr.trim()}; see ${p.sshdLog}`,
    );
  }
  // sshd listens before it writes its pid file: wait for both.
  await waitFor(`sshd of ${spec.name} on ${spec.address}:22`, p.sshdLog, async () => {
    const pid = readPid(p.sshdPidFile);
    return pid !== null && isAlive(pid) && canConnect({ host: spec.address, port: 22 });
  });

  const libvirtdPid = readPid(p.libvirtdPidFile);
  const sshdPid = readPid(p.sshdPidFile);
  if (libvirtdPid === null || sshdPid === null) {
    throw new ClusterError(
      'START_FAILED',
      `${spec.name}: a daemon wrote no pid file (${p.libvirtdPidFile}, ${p.sshdPidFile})`,
    );
  }
  return { holderPid, libvirtdPid, sshdPid };
}
