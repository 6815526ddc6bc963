/**
 * External programs (mount, blkid, lvm, fstrim, chroot...), run as guestfsd runs them:
 * stdin from /dev/null, stdout and stderr collected, a non-zero exit is a failure whose
 * message is stderr without its trailing newlines.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type ByteString, bytesOf, byteString } from './bytes.js';
import { DaemonError, failure } from './errors.js';

export interface RunResult {
  /** The exit status, or null when a signal ended the program. */
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** Where verbose logs go (the appliance console); set by the daemon's --verbose. */
export const log = {
  verbose: false,
  write(line: string): void {
    if (this.verbose) process.stderr.write(`guestfsd: ${line}\n`);
  },
  /** A line with the system's uptime, to time the daemon's start from the console. */
  uptime(what: string): void {
    if (!this.verbose) return;
    let uptime = '?';
    try {
      uptime = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
    } catch {
      // no /proc
    }
    this.write(`${what} at uptime ${uptime}`);
  },
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A byte string as an argument for a program. Node passes arguments as UTF-8, so bytes that
 * are not valid UTF-8 cannot be passed: that is refused (EINVAL) rather than altered.
 */
export function argument(arg: ByteString, what: string): string {
  try {
    return strictUtf8.decode(bytesOf(arg));
  } catch {
    throw new DaemonError(
      'EINVAL',
      `${what}: not valid UTF-8 (this daemon runs programs from Node.js, which passes arguments as UTF-8)`,
    );
  }
}

export function run(program: string, args: readonly string[]): Promise<RunResult> {
  log.write(`run: ${[program, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.once('error', (e) => reject(failure(`${program}: ${e.message}`)));
    child.once('close', (status) =>
      resolve({ status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }),
    );
  });
}

/** Runs a program that must succeed; its stdout. Fails with its stderr. */
export async function command(program: string, args: readonly string[]): Promise<Buffer> {
  const r = await run(program, args);
  if (r.status !== 0) throw failure(errorText(r));
  return r.stdout;
}

/** stderr without trailing newlines, as guestfsd reports a failed command. */
export function errorText(r: RunResult): ByteString {
  return byteString(r.stderr).replace(/\n+$/, '');
}
