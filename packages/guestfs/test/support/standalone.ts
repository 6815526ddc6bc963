/**
 * Debian's own guestfsd, run on the host without an appliance: `guestfsd -r -l --channel SOCK`
 * (`-r`: the sysroot is `/`; `-l`: listen on SOCK). It needs a writable /dev/disk/by-path, so
 * it runs in a private mount namespace where /dev is an overlay (the host's /dev is not
 * touched). It serves one connection and exits when it closes. Calls that chroot into the
 * sysroot (is_file, case_sensitive_path...) fail in this mode: it is a framing peer, and only
 * paths under the test's own temporary directory may be used.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Guestfs } from '../../src/index.js';

export interface StandaloneDaemon extends ListeningDaemon {
  readonly socketPath: string;
  /** A private directory for the test's files (absolute; the daemon's sysroot is `/`). */
  readonly dir: string;
}

export async function startStandaloneDaemon(): Promise<StandaloneDaemon> {
  const base = mkdtempSync(join(tmpdir(), 'tsguestfs-daemon-'));
  const dir = join(base, 'files');
  mkdirSync(dir);
  mkdirSync(join(base, 'ov-upper'));
  mkdirSync(join(base, 'ov-work'));
  const socketPath = join(base, 'channel.sock');
  const script =
    `mount -t overlay overlay -o lowerdir=/dev,upperdir=${base}/ov-upper,workdir=${base}/ov-work /dev && ` +
    `mkdir -p /dev/disk/by-path && exec guestfsd -r -l --channel ${socketPath}`;
  const daemon = await startInNamespace('guestfsd', script, [], base, socketPath);
  return { ...daemon, socketPath, dir };
}

/** A daemon started in a private mount namespace, listening on a socket. */
export interface ListeningDaemon {
  readonly process: ChildProcess;
  /** Its stderr so far. */
  log(): string;
  /** Kills it if it still runs and removes its base directory. */
  stop(): Promise<void>;
}

/**
 * Runs `sh -c SCRIPT sh ARGS...` under `unshare -m` (mounts it makes stay in its namespace)
 * and waits up to 10 s for it to listen on socketPath.
 */
export async function startInNamespace(
  what: string,
  script: string,
  args: readonly string[],
  base: string,
  socketPath: string,
): Promise<ListeningDaemon> {
  const child = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 400 && !existsSync(socketPath); i++) {
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  if (!existsSync(socketPath)) {
    child.kill('SIGKILL');
    throw new Error(`${what} did not start: ${log}`);
  }
  return {
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** A handle on a fresh standalone daemon; closing it stops the daemon. */
export async function connectStandalone(): Promise<{ g: Guestfs; daemon: StandaloneDaemon }> {
  const daemon = await startStandaloneDaemon();
  const g = await Guestfs.connect(daemon.socketPath, { onClose: () => daemon.stop() });
  return { g, daemon };
}
