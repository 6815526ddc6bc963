/**
 * NBD servers this tool starts as child processes, each on a unix socket in a private
 * directory, each stopped by its pid: the source overlays (tsnbd with its cow filter for raw
 * images, `qemu-nbd --snapshot` for qcow2, VMDK and the like, as virt-v2v does) and the
 * targets that need a server (qcow2 files, the null output). A server that dies early fails
 * the start with its own message; every server is killed if this process exits.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnExit } from '@tsvirt/cli-kit';
import { V2vError } from './errors.js';
import type { DiskLocation } from './source.js';

export interface NbdServerProcess {
  /** nbd+unix:///?socket=PATH */
  readonly uri: string;
  readonly socket: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The tsnbd command of @tsvirt/nbd (its compiled CLI, next to the package's entry). */
export function tsnbdPath(): string {
  return fileURLToPath(new URL('./cli/tsnbd.js', import.meta.resolve('@tsvirt/nbd')));
}

/** Whether a server accepts connections on this unix socket now. */
function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Starts `command args` and waits until it accepts connections on `socket` (or fails). */
export async function startNbdServer(
  what: string,
  command: string,
  args: readonly string[],
  socket: string,
): Promise<NbdServerProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  killOnExit(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (code, signal) => resolve(signal ?? `exit status ${code}`));
  });
  let done: string | null = null;
  void exited.then((why) => (done = why));
  // The socket file appears when the server binds, a moment before it listens: it is ready
  // when a connection is accepted (a busy machine showed ECONNREFUSED in between).
  for (let waited = 0; !(await accepts(socket)); waited += 20) {
    if (done !== null || waited > 60_000) {
      child.kill('SIGKILL');
      const reason = done ?? 'not listening after 60 s';
      const missing = /ENOENT/.test(reason)
        ? ` (is ${command} installed? scripts/install-debian-packages)`
        : '';
      throw new V2vError(
        done !== null && /ENOENT/.test(reason) ? 'TOOL_MISSING' : 'INPUT',
        `${what}: ${command} failed to start: ${stderr.trim() || reason}${missing}`,
      );
    }
    await sleep(20);
  }
  return {
    uri: `nbd+unix:///?socket=${socket}`,
    socket,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Serves a source disk behind a copy-on-write overlay: every write (the conversion's edits,
 * fstrim's discards) stays in the overlay and the source is opened read-only. Raw images and
 * raw members of a tar go through tsnbd's file plugin and cow filter (plus its offset filter
 * for a tar member); other formats through `qemu-nbd --snapshot` (qcow2, vmdk...).
 */
export async function serveSourceOverlay(
  location: DiskLocation,
  dir: string,
  index: number,
): Promise<NbdServerProcess> {
  const socket = join(dir, `in${index}`);
  const what = `source disk ${index} (${location.path})`;
  if (location.format === 'raw') {
    const member =
      location.offset !== undefined
        ? ['--filter=offset', `offset=${location.offset}`, `range=${location.size}`]
        : [];
    return startNbdServer(
      what,
      process.execPath,
      [
        tsnbdPath(),
        ...['-f', '--exit-with-parent', '-U', socket, '--filter=cow', ...member],
        ...['file', `file=${location.path}`],
      ],
      socket,
    );
  }
  const image =
    location.offset !== undefined
      ? // A member of a tar file: qemu reads it through a raw slice of the tar.
        [
          '--image-opts',
          [
            `driver=${location.format}`,
            'file.driver=raw',
            `file.offset=${location.offset}`,
            `file.size=${location.size}`,
            'file.file.driver=file',
            `file.file.filename=${location.path.replace(/,/g, ',,')}`,
          ].join(','),
        ]
      : ['--format', location.format, location.path];
  return startNbdServer(
    what,
    'qemu-nbd',
    ['-t', '--shared=0', '--discard=unmap', '--snapshot', '--socket', socket, ...image],
    socket,
  );
}
