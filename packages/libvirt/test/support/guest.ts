/**
 * A tiny guest that really boots under TCG with nothing downloaded: Debian's kernel with a
 * busybox initramfs whose init prints GUEST_MARKER on the serial console every second.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const GUEST_MARKER = 'TSVIRT-LIBVIRT-GUEST-UP';

export function findKernel(): string {
  const kernels = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .sort();
  const kernel = kernels.at(-1);
  if (kernel === undefined)
    throw new Error('no kernel in /boot: run scripts/install-debian-packages (linux-image-amd64)');
  return join('/boot', kernel);
}

/** Build the initramfs into `dir` (once) and return its path. */
export async function buildInitramfs(dir: string): Promise<string> {
  const out = join(dir, 'initrd.img');
  if (existsSync(out)) return out;
  if (!existsSync('/bin/busybox'))
    throw new Error('no /bin/busybox: run scripts/install-debian-packages (busybox-static)');
  const root = join(dir, 'initramfs');
  for (const d of ['bin', 'proc', 'dev', 'sys']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  writeFileSync(
    join(root, 'init'),
    `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\nwhile true; do echo ${GUEST_MARKER}; /bin/busybox sleep 1; done\n`,
  );
  chmodSync(join(root, 'init'), 0o755);
  await run('sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -1 > '${out}'`]);
  return out;
}

export function guestXml(name: string, initrd: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${findKernel()}</kernel>
    <initrd>${initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>`;
}
