// Shared by the tests: run commands, start tsnbd and nbdkit as real servers.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
/** dist/src/cli/tsnbd.js */
export const TSNBD = resolve(here, '../src/cli/tsnbd.js');
/** Test plugins live in test/fixtures as .mjs (copied at run time from the source tree). */
export const FIXTURES = resolve(here, '../../test/fixtures');

export function requireTools(...tools: string[]): void {
  for (const tool of tools) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
    if (r.status !== 0) {
      throw new Error(
        `${tool} is not installed: install the Debian packages nbdkit libnbd-bin qemu-utils ` +
          `(scripts/install-debian-packages)`,
      );
    }
  }
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsnbd-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A sparse file of `size` (truncate's syntax) that is all hole except for random data in
 *  each run of `count` blocks of `bs` bytes at block `seek` (dd's units), synced to disk. */
export function makeSparseFile(
  path: string,
  size: string,
  dataRuns: { bs: string; count: number; seek: number }[],
): void {
  execFileSync('truncate', ['-s', size, path]);
  for (const { bs, count, seek } of dataRuns) {
    execFileSync('dd', [
      'if=/dev/urandom',
      `of=${path}`,
      `bs=${bs}`,
      `count=${count}`,
      `seek=${seek}`,
      'conv=notrunc',
      'status=none',
    ]);
  }
  execFileSync('sync');
}

export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs a server in captive mode: `server -U - ARGS --run CMD`. */
export async function captive(
  server: 'tsnbd' | 'nbdkit',
  args: string[],
  cmd: string,
): Promise<Run> {
  const [bin, pre] = server === 'tsnbd' ? [process.execPath, [TSNBD]] : ['nbdkit', []];
  return run(bin, [...pre, '-U', '-', ...args, '--run', cmd], 120_000);
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface Daemon {
  socket: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `tsnbd -f -U SOCKET ARGS` and waits until it accepts connections. */
export async function startTsnbd(dir: string, args: string[]): Promise<Daemon> {
  const socket = join(dir, `nbd-${Math.random().toString(36).slice(2)}.sock`);
  const child = spawn(process.execPath, [TSNBD, '-f', '-U', socket, ...args], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (child.exitCode !== null) throw new Error(`tsnbd exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!existsSync(socket)) throw new Error(`tsnbd did not listen: ${stderr}`);
  return {
    socket,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function uriOf(socket: string, exportName = ''): string {
  return `nbd+unix:///${exportName}?socket=${socket}`;
}
