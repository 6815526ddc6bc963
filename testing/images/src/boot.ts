// Booting a disk image under qemu until its serial console prints what a test waits for
// (a login prompt, by default): the proof that an image, or a conversion of it, boots.
// The disk is opened with snapshot=on, so the image itself is never written.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BootOptions {
  path: string;
  format?: 'raw' | 'qcow2';
  /** How the disk is attached: `virtio` (virtio-blk), `ide` (what an old hypervisor gives,
   *  /dev/sda through ata_piix) or `scsi` (virtio-scsi). Default `virtio`. */
  bus?: 'virtio' | 'ide' | 'scsi';
  machine?: 'pc' | 'q35';
  memoryMiB?: number;
  /** What to wait for on the serial console. Default: a login prompt. */
  waitFor?: RegExp;
  /** Give up after this long (a hang stopper, not a performance claim). Default 5 min. */
  timeoutMs?: number;
}

export interface BootResult {
  /** True when `waitFor` appeared before the timeout or the guest's exit. */
  reached: boolean;
  /** Everything the guest printed on its serial console. */
  serial: string;
  elapsedMs: number;
}

function driveArgs(path: string, format: string, bus: 'virtio' | 'ide' | 'scsi'): string[] {
  const drive = `file=${path},format=${format},snapshot=on,if=none,id=disk0`;
  switch (bus) {
    case 'virtio':
      return ['-drive', drive, '-device', 'virtio-blk-pci,drive=disk0'];
    case 'ide':
      return ['-drive', drive, '-device', 'ide-hd,drive=disk0,bus=ide.0'];
    case 'scsi':
      return [
        '-drive',
        drive,
        '-device',
        'virtio-scsi-pci,id=scsi0',
        '-device',
        'scsi-hd,drive=disk0',
      ];
  }
}

/** Boots the image under TCG and waits for `waitFor` on its serial console; qemu is
 *  always stopped before this returns. */
export async function bootImage(options: BootOptions): Promise<BootResult> {
  const waitFor = options.waitFor ?? /login:/;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-boot-'));
  const serialLog = join(dir, 'serial.log');
  const started = Date.now();
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-machine',
      options.machine ?? 'pc',
      '-m',
      String(options.memoryMiB ?? 512),
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      `file:${serialLog}`,
      ...driveArgs(options.path, options.format ?? 'raw', options.bus ?? 'virtio'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let exited = false;
  let stderr = '';
  qemu.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<void>((resolve) => qemu.once('close', () => resolve()));
  qemu.once('close', () => (exited = true));
  qemu.once('error', (error) => (stderr += error.message));
  const serial = (): string => {
    try {
      return readFileSync(serialLog, 'latin1');
    } catch {
      return '';
    }
  };
  try {
    while (!exited && Date.now() - started < timeoutMs) {
      if (waitFor.test(serial())) break;
      await sleep(500);
    }
    const text = serial();
    return {
      reached: waitFor.test(text),
      serial: text + (exited && stderr !== '' ? `\n[qemu: ${stderr.trim()}]` : ''),
      elapsedMs: Date.now() - started,
    };
  } finally {
    if (!exited) qemu.kill('SIGKILL');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  }
}
