/**
 * KVM or TCG. /dev/kvm can open while KVM is unusable (nested virtualization: qemu aborts with
 * "failed to set MSR" or the guest hangs), so 'auto' boots the appliance kernel under KVM once
 * per machine and uses KVM only if its console shows it starting; the answer is cached.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import which from 'which';
import type { Appliance } from './appliance.js';
import { applianceCacheDir } from './appliance.js';

export type AccelMode = 'auto' | 'kvm' | 'tcg';

export interface AccelChoice {
  readonly accel: 'kvm' | 'tcg';
  /** Why, for people (shown with --verbose and in the README's terms). */
  readonly reason: string;
}

const PROBE_TIMEOUT_MS = 20_000;

/**
 * The accelerator for a launch. `LIBGUESTFS_BACKEND_SETTINGS=force_tcg` (libguestfs's own
 * switch) and `TSGUESTFS_ACCEL=kvm|tcg` override 'auto'.
 */
export async function chooseAccel(
  mode: AccelMode,
  appliance: Appliance,
  qemu: string,
): Promise<AccelChoice> {
  const fromEnv = process.env['TSGUESTFS_ACCEL'];
  if (mode === 'auto' && (fromEnv === 'kvm' || fromEnv === 'tcg')) mode = fromEnv;
  if (
    mode === 'auto' &&
    /(^|:)force_tcg($|:)/.test(process.env['LIBGUESTFS_BACKEND_SETTINGS'] ?? '')
  ) {
    return { accel: 'tcg', reason: 'LIBGUESTFS_BACKEND_SETTINGS=force_tcg' };
  }
  if (mode !== 'auto') return { accel: mode, reason: `asked for ${mode}` };
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch (e) {
    return { accel: 'tcg', reason: `/dev/kvm cannot be opened (${(e as Error).message})` };
  }
  const cacheFile = join(applianceCacheDir(), 'kvm-probe.json');
  const key = `${release()} ${qemuIdentity(qemu)} ${appliance.kernel}`;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      key: string;
      works: boolean;
      reason: string;
    };
    if (cached.key === key)
      return {
        accel: cached.works ? 'kvm' : 'tcg',
        reason: `${cached.reason} (probe cached in ${cacheFile})`,
      };
  } catch {
    // no cache yet, or unreadable: probe
  }
  const probe = await probeKvm(appliance, qemu);
  mkdirSync(applianceCacheDir(), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ key, ...probe }));
  renameSync(tmp, cacheFile);
  return { accel: probe.works ? 'kvm' : 'tcg', reason: probe.reason };
}

function qemuIdentity(qemu: string): string {
  const path = which.sync(qemu, { nothrow: true });
  if (path === null) return qemu;
  const s = statSync(path);
  return `${path}:${s.size}:${s.mtimeMs}`;
}

/**
 * Boots the appliance kernel and initrd under KVM without disks: working KVM reaches the
 * initrd's "supermin:" lines in a second or two; broken KVM aborts or prints nothing.
 */
async function probeKvm(
  appliance: Appliance,
  qemu: string,
): Promise<{ works: boolean; reason: string }> {
  const child = spawn(
    qemu,
    [
      ...['-nodefaults', '-nographic', '-display', 'none', '-no-reboot', '-machine', 'accel=kvm'],
      ...['-cpu', 'max', '-m', '512', '-serial', 'stdio'],
      ...['-kernel', appliance.kernel, '-initrd', appliance.initrd],
      ...['-append', 'console=ttyS0 panic=-1 quiet'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const started = Date.now();
  const result = await new Promise<{ works: boolean; reason: string }>((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({ works: false, reason: `KVM probe: no boot within ${PROBE_TIMEOUT_MS / 1000} s` }),
      PROBE_TIMEOUT_MS,
    );
    const check = (): void => {
      if (/supermin:/.test(output)) {
        clearTimeout(timer);
        resolve({
          works: true,
          reason: `KVM probe booted in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        });
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (/supermin:/.test(output)) return check();
      const last = output.trim().split('\n').slice(-1)[0] ?? '';
      resolve({
        works: false,
        reason: `KVM probe: qemu exited (${signal ?? `status ${code}`})${last ? `: ${last}` : ''}`,
      });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ works: false, reason: `KVM probe: ${e.message}` });
    });
  });
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  return result;
}
