// The probe boot: does the test guest really boot under KVM on this machine? /dev/kvm can
// exist and qemu report KVM as enabled while a guest hangs in early boot (nested
// virtualization), so the only honest answer is to boot it and watch its serial console.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageOf } from './errors.js';
import { GUEST_MARKER } from './template.js';

export const KVM_DEVICE = '/dev/kvm';
/** Under TCG the guest prints its marker after about 10 s here, under working KVM in 1-3 s. */
export const DEFAULT_PROBE_TIMEOUT_MS = 25_000;

export interface BootResult {
  /** Whether the guest's boot marker appeared on its serial console. */
  booted: boolean;
  /** Why not (or how it went), for people: the marker line, qemu's error or the last output. */
  detail: string;
  /** Wall time from starting qemu to the marker, its exit or the timeout. */
  seconds: number;
  /** The probe qemu's pid; it is killed and reaped before bootGuest returns. */
  pid: number;
}

/** The result of the KVM probe, as kept in the cache. */
export interface KvmProbeResult {
  works: boolean;
  reason: string;
  seconds: number;
}

/** Whether this process can open /dev/kvm read-write (exists, and permissions allow). */
export function kvmUsable(device = KVM_DEVICE): { usable: boolean; why: string } {
  try {
    closeSync(openSync(device, 'r+'));
    return { usable: true, why: `${device} opens read-write` };
  } catch (error) {
    return { usable: false, why: `${device} is not usable: ${messageOf(error)}` };
  }
}

/** The console text as a person would read it: no escape sequences, trimmed lines. */
function readableLines(text: string): string[] {
  return text
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') // eslint-disable-line no-control-regex
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * Boots the test guest image with qemu directly (no libvirt), in snapshot mode so the image
 * is untouched, 128 MiB and a virtio disk as tinyGuestXml gives it, serial console to a
 * file. Stops at the boot marker, at qemu's exit or at the timeout, then kills qemu by pid.
 */
export async function bootGuest(
  image: string,
  accel: 'kvm' | 'tcg',
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<BootResult> {
  const work = mkdtempSync(join(tmpdir(), 'tsvirt-accel-probe-'));
  const serial = join(work, 'serial.log');
  const started = Date.now();
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', accel, '-m', '128', '-nodefaults', '-display', 'none', '-monitor', 'none'],
      ...['-no-reboot', '-snapshot', '-serial', `file:${serial}`],
      ...['-drive', `file=${image},format=raw,if=virtio`],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  qemu.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let exit: string | null = null;
  let spawnError: string | null = null;
  const exited = new Promise<void>((resolve) => {
    qemu.on('error', (error) => {
      spawnError = messageOf(error);
      resolve();
    });
    qemu.on('exit', (code, signal) => {
      exit = signal === null ? `status ${code ?? '?'}` : `signal ${signal}`;
      resolve();
    });
  });
  const elapsed = (): number => (Date.now() - started) / 1000;
  const consoleLines = (): string[] => {
    try {
      return readableLines(readFileSync(serial, 'utf8'));
    } catch {
      return [];
    }
  };
  try {
    for (;;) {
      const marker = consoleLines().find((l) => l.startsWith(`${GUEST_MARKER} booted`));
      if (marker !== undefined)
        return { booted: true, detail: marker, seconds: elapsed(), pid: qemu.pid ?? 0 };
      if (spawnError !== null || exit !== null) {
        const why = spawnError ?? `qemu exited with ${exit ?? '?'}`;
        const said = stderr.trim().split('\n').slice(-2).join(' / ');
        return {
          booted: false,
          detail: `${why} before the boot marker${said ? `: ${said}` : ''}`,
          seconds: elapsed(),
          pid: qemu.pid ?? 0,
        };
      }
      if (Date.now() - started > timeoutMs) {
        const last = consoleLines().at(-1);
        return {
          booted: false,
          detail: `no boot marker within ${timeoutMs / 1000} s (the guest hangs${last ? `; its console's last line: "${last}"` : ', its console stays empty'})`,
          seconds: elapsed(),
          pid: qemu.pid ?? 0,
        };
      }
      await sleep(200);
    }
  } finally {
    if (exit === null && spawnError === null && qemu.pid !== undefined) {
      process.kill(qemu.pid, 'SIGKILL');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

/** Does the test guest boot under KVM here? No /dev/kvm, a qemu error or a hang all say no. */
export async function probeKvm(
  image: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<KvmProbeResult> {
  const device = kvmUsable();
  if (!device.usable) return { works: false, reason: device.why, seconds: 0 };
  const boot = await bootGuest(image, 'kvm', timeoutMs);
  return {
    works: boot.booted,
    reason: boot.booted
      ? `the test guest booted under KVM in ${boot.seconds.toFixed(1)} s ("${boot.detail}")`
      : `the test guest did not boot under KVM: ${boot.detail}`,
    seconds: boot.seconds,
  };
}
