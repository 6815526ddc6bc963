// Every ssh that mclu runs (the libvirt connections, `mclu off`) takes the same options:
// the configured ssh_config, BatchMode (never prompt), the connect timeout, and OpenSSH
// connection sharing so that a command after the first one pays no ssh handshake: the first
// connection to a node becomes a master that lingers CONTROL_PERSIST_SECONDS after its last
// use, with its control socket in a private (0700) directory.
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshBaseOptions } from '@tsvirt/libvirt';
import type { Defaults, NodeConfig } from './config.js';
import { McluError, NodeError } from './errors.js';

export const CONTROL_PERSIST_SECONDS = 60;
/** sun_path holds 108 bytes; ssh adds "/" + 40 (%C) + 17 (its temporary suffix) + NUL. */
const CONTROL_DIR_MAX = 108 - 1 - 40 - 17 - 1;

/** The control socket directory: ssh_control_dir, else $XDG_RUNTIME_DIR/mclu, else
 *  /tmp/mclu-UID (like tmux's), checked to be ours and private. */
export function controlDir(defaults: Defaults, env: NodeJS.ProcessEnv = process.env): string {
  if (defaults.sshControlDir !== null) return defaults.sshControlDir;
  const runtime = env['XDG_RUNTIME_DIR'];
  return runtime ? join(runtime, 'mclu') : join(tmpdir(), `mclu-${process.getuid?.() ?? 0}`);
}

/** Creates the directory if needed; refuses one that another user could use. */
export function ensurePrivateDir(dir: string): void {
  const refuse = (why: string): never => {
    throw new McluError(
      'CONFIG',
      `refusing the ssh control directory ${dir}: ${why}; remove it, set [defaults] ssh_control_dir, or ssh_connection_sharing = false`,
    );
  };
  if (dir.length > CONTROL_DIR_MAX)
    refuse(`its path is longer than ${CONTROL_DIR_MAX} characters, too long for ssh's sockets`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!stat.isDirectory()) refuse('it is not a directory');
  if (stat.uid !== uid) refuse(`it is owned by uid ${stat.uid}, not by you (uid ${uid})`);
  if ((stat.mode & 0o077) !== 0)
    refuse(`others may use it (mode ${(stat.mode & 0o777).toString(8)}, must be 700)`);
}

const timeoutSeconds = (defaults: Defaults): number =>
  Math.max(1, Math.ceil(defaults.connectTimeoutMs / 1000));

/** The options every mclu ssh gets, before the destination: libvirt's (the same as its
 *  qemu+ssh connections get), then connection sharing. */
export function sshOptions(defaults: Defaults): string[] {
  return [
    ...sshBaseOptions({
      ...(defaults.sshConfig !== null && { configFile: defaults.sshConfig }),
      connectTimeoutMs: defaults.connectTimeoutMs,
    }),
    ...connectionSharingOptions(defaults),
  ];
}

/** ControlMaster options (none when ssh_connection_sharing is off: ssh's own configuration
 *  then decides). Creates the control directory. */
export function connectionSharingOptions(defaults: Defaults): string[] {
  if (!defaults.sshConnectionSharing) return [];
  const dir = controlDir(defaults);
  ensurePrivateDir(dir);
  return [
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${join(dir, '%C')}`,
    '-o',
    `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
    // A master whose node died must go away, not hold later commands on a dead connection.
    '-o',
    `ServerAliveInterval=${timeoutSeconds(defaults)}`,
    '-o',
    'ServerAliveCountMax=2',
  ];
}

/** Runs one command on the node; resolves with its output, rejects with ssh's message. */
export function runOverSsh(defaults: Defaults, node: NodeConfig, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshOptions(defaults), '--', node.host, command], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (b: Buffer) => (output.stdout += b.toString()));
    child.stderr.on(
      'data',
      (b: Buffer) => (output.stderr = (output.stderr + b.toString()).slice(-8192)),
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), defaults.connectTimeoutMs + 30_000);
    const fail = (reason: string): void =>
      reject(
        new NodeError(
          'NODE_COMMAND',
          node.name,
          `${node.name}: \`${command}\` over ssh failed: ${reason}`,
        ),
      );
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    // 'close': ssh has exited and its pipes are drained, so the output is complete.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output.stdout);
      else
        fail(
          output.stderr.trim().split('\n').pop() || `ssh exited with ${signal ?? `status ${code}`}`,
        );
    });
    // With connection sharing the master may hold ssh's pipes a while longer (a hung remote
    // command): take what came within a moment of ssh's exit, then stop waiting for them.
    child.once('exit', () => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 200).unref();
    });
  });
}
