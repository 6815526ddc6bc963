// Shared by the tests: run commands, start tsnbd and nbdkit as real servers.
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import which from 'which';
import { IHAVEOPT, OPT_REPLY_MAGIC, Rep } from '../src/protocol/constants.js';
import { StreamReader } from '../src/protocol/reader.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** dist/src/cli/tsnbd.js */
export const TSNBD = resolve(here, '../src/cli/tsnbd.js');
/** Test plugins live in test/fixtures as .mjs (copied at run time from the source tree). */
export const FIXTURES = resolve(here, '../../test/fixtures');

export function requireTools(...tools: string[]): void {
  for (const tool of tools) {
    if (which.sync(tool, { nothrow: true }) === null) {
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

/** Runs a command to its end; `env` replaces the environment when given. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 60_000,
  env?: NodeJS.ProcessEnv,
): Promise<Run> {
  return new Promise((resolvePromise) => {
    const options = { timeout: timeoutMs, maxBuffer: 64 << 20, ...(env ? { env } : {}) };
    execFile(cmd, args, options, (err, stdout, stderr) => {
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
export async function startTsnbd(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Daemon> {
  const socket = join(dir, `nbd-${Math.random().toString(36).slice(2)}.sock`);
  const child = spawn(process.execPath, [TSNBD, '-f', '-U', socket, ...args], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (child.exitCode !== null) throw new Error(`tsnbd exited: ${stderr}`);
    await sleep(25);
  }
  if (!existsSync(socket)) throw new Error(`tsnbd did not listen: ${stderr}`);
  return {
    socket,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function uriOf(socket: string, exportName = ''): string {
  return `nbd+unix:///${exportName}?socket=${socket}`;
}

export interface RawSession {
  s: net.Socket;
  reader: StreamReader;
  closed: Promise<void>;
  /** Sends an option and returns the type of its final reply (INFO replies are skipped). */
  option(opt: number, data?: Buffer): Promise<number>;
}

/** A raw connection after the greeting, to negotiate by hand. */
export async function rawSession(socket: string): Promise<RawSession> {
  const s = net.connect(socket);
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  s.on('error', () => undefined);
  const reader = new StreamReader(s);
  await reader.read(18);
  s.write(Buffer.from([0, 0, 0, 3]));
  const option = async (opt: number, data = Buffer.alloc(0)): Promise<number> => {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(IHAVEOPT, 0);
    header.writeUInt32BE(opt, 8);
    header.writeUInt32BE(data.length, 12);
    s.write(Buffer.concat([header, data]));
    for (;;) {
      const reply = await reader.read(20);
      if (reply.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new Error('bad option reply magic');
      await reader.read(reply.readUInt32BE(16));
      const type = reply.readUInt32BE(12);
      if (type !== Rep.INFO) return type;
    }
  };
  return { s, reader, closed, option };
}

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM ...). */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** The Uid, Gid and Groups lines of /proc/PID/status. */
export function ids(pid: number): { uid: string; gid: string; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!.trim();
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** Whether a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
