// Running the programs a build needs (debootstrap, tar, unshare, qemu-img) and turning a
// failure into an error that names the command and quotes the end of its stderr.
import { spawn } from 'node:child_process';
import { BuilderError } from './errors.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Stops the program (SIGKILL) when this aborts. */
  signal?: AbortSignal | undefined;
}

/** Runs a program to completion and returns its stdout. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.signal === undefined ? {} : { signal: options.signal, killSignal: 'SIGKILL' }),
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-8192)));
    child.once('error', (error) => {
      if (error.name === 'AbortError')
        reject(new BuilderError('INTERRUPTED', `${program} stopped: the build was interrupted`));
      else reject(new BuilderError('COMMAND_FAILED', `cannot run ${program}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      if (options.signal?.aborted) return; // the 'error' event says it
      const detail = err.trim().split('\n').slice(-5).join('\n  ');
      const status = signal === null ? `exited with status ${code}` : `was killed by ${signal}`;
      reject(
        new BuilderError(
          'COMMAND_FAILED',
          `${argv.join(' ')} ${status}${detail ? `:\n  ${detail}` : ''}`,
        ),
      );
    });
  });
}
