/**
 * A private libvirtd (and an sshd in front of it) for the integration tests and the bench,
 * started by hand in its own mount namespace so that it never touches the host's /run/libvirt:
 * see ../../../../../shared/design/testcluster.md. Everything lives under one directory that
 * stop() removes; a crashed earlier run of the same name is cleaned up by the next start.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestNode {
  name: string;
  dir: string;
  /** The daemon's read-write socket as seen from the host. */
  socket: string;
  /** 'qemu+unix:///system?socket=...' */
  unixUri: string;
  /** 'qemu+ssh://root@ADDRESS/system' (use sshArgs with it). */
  sshUri: string;
  address: string;
  /** Private key accepted by the node's sshd. */
  privateKey: string;
  /** ssh options for this node: key, no known_hosts prompts, quiet. */
  sshArgs: string[];
  libvirtdPid: number;
  sshdPid: number;
  /** virsh -c <unix uri> ARGS; returns stdout. */
  virsh(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const REQUIRED = [
  '/usr/sbin/libvirtd',
  '/usr/sbin/sshd',
  '/usr/bin/virsh',
  '/usr/bin/unshare',
  '/usr/bin/nsenter',
  '/usr/bin/ssh-keygen',
  '/usr/bin/virt-ssh-helper',
];

function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'libvirt integration tests need root (they start libvirtd and sshd); run them as root',
    );
  }
  const missing = REQUIRED.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: run scripts/install-debian-packages (libvirt-daemon, libvirt-clients, openssh-server)`,
    );
  }
}

/** libvirtd of Debian's build parses the user 'libvirt-qemu' before reading qemu.conf. */
async function ensureQemuUser(): Promise<void> {
  const has = async (db: string, key: string): Promise<boolean> =>
    run('getent', [db, key]).then(
      () => true,
      () => false,
    );
  if (await has('passwd', 'libvirt-qemu')) return;
  if (!(await has('group', 'libvirt-qemu'))) await run('groupadd', ['-r', 'libvirt-qemu']);
  if (!(await has('group', 'kvm'))) await run('groupadd', ['-r', 'kvm']);
  await run('useradd', [
    '-r',
    '-g',
    'libvirt-qemu',
    '-G',
    'kvm',
    '-d',
    '/var/lib/libvirt',
    '-s',
    '/usr/sbin/nologin',
    'libvirt-qemu',
  ]);
}

function killPidFile(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function canConnect(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = 'path' in target ? netConnect(target.path) : netConnect(target.port, target.host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Start libvirtd + sshd for node `name`, sshd listening on `address`:22. */
export async function startTestNode(name: string, address: string): Promise<TestNode> {
  checkPrerequisites();
  await ensureQemuUser();
  const dir = `/tmp/tsvirt-libvirt-test-${name}`;
  // A crashed earlier run: its daemons first, then its files.
  killPidFile(join(dir, 'sshd.pid'));
  killPidFile(join(dir, 'libvirtd.pid'));
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ['run', 'lib', 'etc', 'log', 'cache', 'ssh'])
    mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(dir, 0o755);

  writeFileSync(
    join(dir, 'etc/libvirtd.conf'),
    'listen_tls = 0\nlisten_tcp = 0\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n',
  );
  writeFileSync(
    join(dir, 'etc/qemu.conf'),
    'user = "root"\ngroup = "root"\nremember_owner = 0\nstdio_handler = "file"\n',
  );

  const ssh = join(dir, 'ssh');
  const privateKey = join(ssh, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(ssh, 'host_key')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', privateKey]);
  writeFileSync(join(ssh, 'authorized_keys'), readFileSync(`${privateKey}.pub`));
  writeFileSync(
    join(ssh, 'sshd_config'),
    [
      `ListenAddress ${address}:22`,
      `HostKey ${join(ssh, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(ssh, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );

  const log = openSync(join(dir, 'libvirtd.log'), 'a');
  const mounts = [
    ['run', '/run/libvirt'],
    ['lib', '/var/lib/libvirt'],
    ['etc', '/etc/libvirt'],
    ['log', '/var/log/libvirt'],
    ['cache', '/var/cache/libvirt'],
  ]
    .map(([from, to]) => `mkdir -p ${to} && mount --bind ${join(dir, from!)} ${to}`)
    .join(' && ');
  // unshare without --fork execs: the child's pid is libvirtd's.
  const libvirtd = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `${mounts} && exec libvirtd -p /run/libvirt/libvirtd.pid`,
    ],
    { stdio: ['ignore', log, log] },
  );
  const libvirtdPid = libvirtd.pid!;
  writeFileSync(join(dir, 'libvirtd.pid'), String(libvirtdPid));
  const socket = join(dir, 'run/libvirt-sock');
  await waitFor(`libvirtd of ${name} (log: ${join(dir, 'libvirtd.log')})`, async () => {
    if (libvirtd.exitCode !== null)
      throw new Error(`libvirtd of ${name} exited: see ${join(dir, 'libvirtd.log')}`);
    return existsSync(socket) && (await canConnect({ path: socket }));
  });

  const sshdLog = openSync(join(dir, 'sshd.log'), 'a');
  const sshd = spawn(
    'nsenter',
    ['-t', String(libvirtdPid), '-m', '/usr/sbin/sshd', '-D', '-e', '-f', join(ssh, 'sshd_config')],
    {
      stdio: ['ignore', sshdLog, sshdLog],
    },
  );
  await waitFor(`sshd of ${name} on ${address}:22 (log: ${join(dir, 'sshd.log')})`, async () => {
    if (sshd.exitCode !== null)
      throw new Error(`sshd of ${name} exited: see ${join(dir, 'sshd.log')}`);
    return canConnect({ host: address, port: 22 });
  });

  const unixUri = `qemu+unix:///system?socket=${socket}`;
  const node: TestNode = {
    name,
    dir,
    socket,
    unixUri,
    sshUri: `qemu+ssh://root@${address}/system`,
    address,
    privateKey,
    sshArgs: [
      '-i',
      privateKey,
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'LogLevel=ERROR',
    ],
    libvirtdPid,
    sshdPid: sshd.pid!,
    async virsh(...args: string[]): Promise<string> {
      return (await run('virsh', ['-c', unixUri, ...args])).stdout;
    },
    async stop(): Promise<void> {
      sshd.kill('SIGTERM');
      await exited(sshd);
      if (libvirtd.exitCode === null && libvirtd.signalCode === null) {
        try {
          process.kill(libvirtdPid, 'SIGCONT'); // in case a test left it stopped
        } catch {
          // gone
        }
        // Guests would outlive the daemon (and keep the namespace): destroy them first.
        const running = await node.virsh('list', '--name').catch(() => '');
        for (const dom of running.split('\n').filter((l) => l.trim() !== '')) {
          await node.virsh('destroy', dom.trim()).catch(() => '');
        }
        libvirtd.kill('SIGTERM');
        await exited(libvirtd);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return node;
}
