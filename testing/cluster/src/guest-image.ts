// The test guest image: Debian's kernel and a busybox initramfs on a hybrid disk made by
// grub-mkrescue (an ISO 9660 image with an MBR, so it boots as a plain disk under SeaBIOS).
// Its init prints GUEST_MARKER on the serial console, then a heartbeat every 2 seconds, and
// powers off on the ACPI power button. Built once and cached by the hash of its inputs.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { ClusterError, messageOf } from './errors.js';
import { execChecked } from './exec.js';
import { CACHE_DIR } from './paths.js';
import { checkImagePrerequisites } from './prerequisites.js';
import { GUEST_MARKER } from './template.js';

/** The stable name of the newest cached image (a symlink); what tiny.template copies. */
export const GUEST_IMAGE_LINK = join(CACHE_DIR, 'tiny.img');

/** Bump when the way the image is made changes without its inputs changing. */
const RECIPE_VERSION = 2;

const INIT = `#!/bin/busybox sh
# init of the tsvirt test guest: prove on the serial console that it booted and still runs.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The ACPI power button (virsh shutdown) powers the guest off.
insmod /lib/modules/evdev.ko 2>/dev/null
insmod /lib/modules/button.ko 2>/dev/null
# -l and -p: the daemonized acpid exits at once if it cannot open its default log file
# (/var/log/acpid.log), and this initramfs has no /var.
acpid -c /etc/acpi -l /dev/null -p /dev/null >/dev/null 2>&1
echo "${GUEST_MARKER} booted: kernel $(uname -r)" > /dev/ttyS0
n=0
while :; do
  sleep 2
  n=$((n + 1))
  echo "${GUEST_MARKER} heartbeat $n uptime $(cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0
done
`;

const POWER_BUTTON = `#!/bin/sh
echo "${GUEST_MARKER} power button: powering off" > /dev/ttyS0
poweroff -f
`;

const GRUB_CFG = `serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "tsvirt tiny guest" {
  linux /boot/vmlinuz console=ttyS0,115200 quiet panic=-1
  initrd /boot/initrd.gz
}
`;

interface Inputs {
  kernel: string;
  busybox: string;
  modules: string[];
}

function findInputs(): Inputs {
  const { kernel, busybox } = checkImagePrerequisites();
  const release = basename(kernel).replace(/^vmlinuz-/, '');
  const modules = ['kernel/drivers/input/evdev.ko', 'kernel/drivers/acpi/button.ko']
    .map((m) => join('/lib/modules', release, m))
    .filter((m) => existsSync(m));
  return { kernel, busybox, modules };
}

function inputsHash(inputs: Inputs): string {
  const files = [inputs.kernel, inputs.busybox, ...inputs.modules].map((f) => {
    const s = statSync(f);
    return [f, s.size, s.mtimeMs];
  });
  return createHash('sha256')
    .update(JSON.stringify({ RECIPE_VERSION, INIT, POWER_BUTTON, GRUB_CFG, files }))
    .digest('hex')
    .slice(0, 16);
}

/** Builds the image unless the cache has it for these inputs; returns its path (the
 *  GUEST_IMAGE_LINK symlink, which then points to it). */
export async function ensureGuestImage(): Promise<string> {
  const inputs = findInputs();
  const image = join(CACHE_DIR, `tiny-${inputsHash(inputs)}.img`);
  if (!existsSync(image)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const work = mkdtempSync(join(CACHE_DIR, 'build-'));
    try {
      await buildImage(inputs, work, join(work, 'tiny.img'));
      renameSync(join(work, 'tiny.img'), image);
    } catch (error) {
      throw new ClusterError(
        'IMAGE_BUILD_FAILED',
        `building the test guest image failed: ${messageOf(error)}`,
        { cause: error },
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  pointLinkAt(image);
  removeStaleImages(image);
  return GUEST_IMAGE_LINK;
}

async function buildImage(inputs: Inputs, work: string, output: string): Promise<void> {
  const root = join(work, 'root');
  const iso = join(work, 'iso');
  for (const dir of ['bin', 'proc', 'sys', 'dev', 'lib/modules', 'etc/acpi/PWRF'])
    mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(join(iso, 'boot', 'grub'), { recursive: true });
  copyFileSync(inputs.busybox, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const m of inputs.modules) copyFileSync(m, join(root, 'lib', 'modules', basename(m)));
  writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
  // busybox acpid runs /etc/acpi/EVENT/* for an event; PWRF/00000080 is the power button.
  writeFileSync(join(root, 'etc', 'acpi', 'PWRF', '00000080'), POWER_BUTTON, { mode: 0o755 });
  await execChecked([
    'sh',
    '-c',
    'cd "$1" && find . | cpio -o -H newc --quiet | gzip -9 > "$2"',
    'sh',
    root,
    join(iso, 'boot', 'initrd.gz'),
  ]);
  copyFileSync(inputs.kernel, join(iso, 'boot', 'vmlinuz'));
  writeFileSync(join(iso, 'boot', 'grub', 'grub.cfg'), GRUB_CFG);
  await execChecked(['grub-mkrescue', '-o', output, iso]);
}

/** Replaces the symlink atomically, so a template copying it meanwhile sees old or new. */
function pointLinkAt(image: string): void {
  const temp = `${GUEST_IMAGE_LINK}.${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(basename(image), temp);
  renameSync(temp, GUEST_IMAGE_LINK);
}

function removeStaleImages(current: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    if (/^tiny-[0-9a-f]{16}\.img$/.test(name) && name !== basename(current))
      rmSync(join(CACHE_DIR, name), { force: true });
  }
}
