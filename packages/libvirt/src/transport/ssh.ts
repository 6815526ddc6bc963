import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { LibvirtTransportError } from '../errors.js';
import type { Transport } from './transport.js';

export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
  /** URI that virt-ssh-helper opens on the node, e.g. 'qemu:///system'. */
  remoteUri: string;
  /** Socket for the netcat fallback, e.g. '/var/run/libvirt/libvirt-sock'. */
  remoteSocket: string;
  /** 'auto': virt-ssh-helper when the node has it, else netcat. */
  helper: 'auto' | 'virt-ssh-helper' | 'netcat';
  /** Private key file (`keyfile=` in the URI). */
  keyFile?: string;
}

export interface SshOptions {
  configFile?: string;
  extraArgs?: string[];
  command?: string;
  connectTimeoutMs: number;
}

/** After ssh exits, how long its last output may take to arrive through the pipes. */
const PIPE_GRACE_MS = 200;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The command run on the node: it must connect its stdin/stdout to the daemon. */
export function remoteCommand(target: SshTarget): string {
  const helper = `virt-ssh-helper ${shellQuote(target.remoteUri)}`;
  const netcat = `nc -U ${shellQuote(target.remoteSocket)}`;
  switch (target.helper) {
    case 'virt-ssh-helper':
      return helper;
    case 'netcat':
      return netcat;
    case 'auto':
      // One round trip: the node's own shell picks the helper. Wrapped in sh -c so that a user
      // whose login shell is not POSIX (fish, csh) still works.
      return `sh -c ${shellQuote(
        `if command -v virt-ssh-helper >/dev/null 2>&1; then exec ${helper}; else exec ${netcat}; fi`,
      )}`;
  }
}

/**
 * The options every ssh run by a program (not a person) gets, before the destination: the
 * ssh_config file, BatchMode (never prompt: fail instead) and the connect timeout in whole
 * seconds. mclu's own ssh commands start with them too.
 */
export function sshBaseOptions(options: {
  configFile?: string;
  connectTimeoutMs: number;
}): string[] {
  return [
    ...(options.configFile === undefined ? [] : ['-F', options.configFile]),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.ceil(options.connectTimeoutMs / 1000))}`,
  ];
}

/** The argument vector given to ssh. */
export function sshArguments(target: SshTarget, options: SshOptions): string[] {
  const args = sshBaseOptions(options);
  if (target.port !== undefined) args.push('-p', String(target.port));
  if (target.user !== undefined) args.push('-l', target.user);
  if (target.keyFile !== undefined) args.push('-i', target.keyFile);
  args.push(...(options.extraArgs ?? []));
  args.push('-T', '-e', 'none', '--', target.host, remoteCommand(target));
  return args;
}

/** The line of ssh's stderr that says what went wrong (not the chatter about known hosts). */
export function sshFailureLine(stderr: string): string | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Warning: Permanently added/i.test(l) && !/^\*\*/.test(l));
  return lines.at(-1) ?? null;
}

/** Runs ssh and speaks to the daemon over its stdin/stdout. */
export function openSsh(target: SshTarget, options: SshOptions): Transport {
  const command = options.command ?? 'ssh';
  const child = spawn(command, sshArguments(target, options), { stdio: ['pipe', 'pipe', 'pipe'] });
  const peer = target.user !== undefined ? `${target.user}@${target.host}` : target.host;
  return new SshTransport(child, peer, command);
}

class SshTransport implements Transport {
  private stderr = '';
  private spawnError: NodeJS.ErrnoException | null = null;
  private closing = false;
  /** Data came from the daemon: a later exit is a lost connection, not a failure to connect. */
  private receivedData = false;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly peer: string,
    private readonly command: string,
  ) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      // Keep the tail only: enough for the last lines, bounded whatever ssh prints.
      this.stderr = (this.stderr + s).slice(-8192);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.spawnError = err;
    });
    // Writes to a dead ssh are reported through 'close' below, not as unhandled errors.
    child.stdin.on('error', () => {});
    // With OpenSSH connection sharing, ssh hands its end of our pipes to the master, which
    // keeps them until the remote command ends: a session whose daemon hangs would hold
    // them (and this process) forever. Once ssh itself has exited, stop waiting for them.
    // The timer is unref'd: pipes that close by themselves must not keep the process alive.
    child.once('exit', () => {
      setTimeout(() => {
        child.stdin.destroy();
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_GRACE_MS).unref();
    });
  }

  start(handlers: {
    onData: (chunk: Buffer) => void;
    onClose: (reason: LibvirtTransportError) => void;
  }): void {
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.receivedData = true;
      handlers.onData(chunk);
    });
    // 'close' comes after the process has exited and its pipes are drained: stderr is complete.
    this.child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      handlers.onClose(this.describeExit(code, signal));
    });
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): LibvirtTransportError {
    if (this.spawnError !== null) {
      const what =
        this.spawnError.code === 'ENOENT'
          ? `${this.command}: command not found (install openssh-client)`
          : `${this.command}: ${this.spawnError.message}`;
      return new LibvirtTransportError('SSH_FAILED', what, { cause: this.spawnError });
    }
    if (this.closing)
      return new LibvirtTransportError('CLOSED', `connection to ${this.peer} closed`);
    const line = sshFailureLine(this.stderr);
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${String(code)}`;
    // ssh got in, but the helper on the node found no daemon behind the socket.
    const daemonDown =
      line !== null
        ? /libvirt-sock.*(Connection refused|No such file or directory)/.exec(line)
        : null;
    if (line !== null && daemonDown !== null) {
      return new LibvirtTransportError(
        daemonDown[1] === 'Connection refused' ? 'ECONNREFUSED' : 'ENOENT',
        `libvirtd is not running on ${this.peer} (${line})`,
      );
    }
    if (this.receivedData) {
      return new LibvirtTransportError(
        'CLOSED',
        `connection to ${this.peer} lost: ${line ?? `ssh ${how}`}`,
      );
    }
    if (line !== null && code !== 0) return new LibvirtTransportError('SSH_FAILED', line);
    return new LibvirtTransportError(
      code === 0 ? 'CLOSED' : 'SSH_FAILED',
      line !== null ? `${line} (ssh to ${this.peer} ${how})` : `ssh to ${this.peer} ${how}`,
    );
  }

  write(data: Uint8Array): boolean {
    return this.child.stdin.write(data);
  }

  onceDrain(callback: () => void): void {
    this.child.stdin.once('drain', callback);
  }

  close(): void {
    this.closing = true;
    this.child.stdin.end();
    this.child.kill('SIGTERM');
  }
}
