// Running helper programs (ssh-keygen, nsenter, virsh, qemu-img...) and collecting output.
import { spawn } from 'node:child_process';
import { ClusterError } from './errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a program to completion; never throws for a non-zero exit (see `code`). */
export function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError('exec: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? (signal === null ? 1 : 128),
      });
    });
    child.stdin.on('error', () => undefined); // the program may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program and returns its stdout; a non-zero exit becomes a ClusterError that names
 *  the command and quotes its stderr. */
export async function execChecked(
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<string> {
  const result = await exec(argv, options);
  if (result.code !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim())
      .split('\n')
      .slice(-5)
      .join('\n  ');
    throw new ClusterError(
      'COMMAND_FAILED',
      `${argv.join(' ')} exited with status ${result.code}${detail ? `:\n  ${detail}` : ''}`,
    );
  }
  return result.stdout;
}
