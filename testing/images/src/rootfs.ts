// The root filesystem trees, as tar files: the debootstrap base (minutes, so cached on its
// own and shared by every layout), then per image the files that depend on the recipe
// (fstab, grub defaults, which modules the initramfs carries), with the initramfs rebuilt
// by the guest's own update-initramfs in a chroot on the host (seconds here, where the
// same step inside a TCG appliance takes a quarter of an hour).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execChecked } from '@tsvirt/testcluster';
import { cached, CACHE_DIR } from './cache.js';
import { BASE_PACKAGES, baseKey, SUITE, type DebianRecipe } from './recipe.js';

export const MIRROR = process.env['TSVIRT_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';

/** Files every image has, whatever its layout. Paths are relative to the root. */
const BASE_FILES: Record<string, string> = {
  'etc/hostname': 'debian\n',
  'etc/hosts':
    '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  // The first NIC, whatever its name, by DHCP.
  'etc/network/interfaces':
    'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n',
  // A serial console for grub and the kernel: the tests read the guest's serial log.
  'etc/default/grub':
    'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR=Debian\n' +
    'GRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 net.ifnames=0"\n' +
    'GRUB_TERMINAL="console serial"\nGRUB_SERIAL_COMMAND="serial --speed=115200"\n',
  // No swap partition to resume from: without this the initramfs waits for one.
  'etc/initramfs-tools/conf.d/resume': 'RESUME=none\n',
};

/** Runs a command chrooted into `root` with /proc, /sys and /dev mounted, in a private
 *  mount namespace so that nothing stays mounted whatever happens. */
async function inChroot(root: string, command: string): Promise<string> {
  return execChecked([
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-ec',
    'r="$1"; shift; mount -t proc proc "$r/proc"; mount --rbind /sys "$r/sys"; ' +
      'mount --rbind /dev "$r/dev"; exec chroot "$r" /bin/sh -ec "$1"',
    'sh',
    root,
    command,
  ]);
}

function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(root, path), content);
}

async function tarTree(root: string, output: string): Promise<void> {
  await execChecked(['tar', '--numeric-owner', '--xattrs', '-C', root, '-cf', output, '.']);
}

/** The debootstrap tree of this recipe's packages, as a tar file (cached). */
export async function baseTar(recipe: DebianRecipe): Promise<string> {
  return cached(`debian-${SUITE}-base-${baseKey(recipe)}.tar`, async (output) => {
    const work = mkdtempSync(join(CACHE_DIR, 'debootstrap-'));
    try {
      const root = join(work, 'root');
      await execChecked(
        [
          'debootstrap',
          '--variant=minbase',
          `--include=${[...BASE_PACKAGES, ...recipe.extraPackages].join(',')}`,
          SUITE,
          root,
          MIRROR,
        ],
        { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
      );
      writeFiles(root, BASE_FILES);
      // Root logs in on the console without a password (a test guest); the machine-id is
      // made at first boot, so that every guest made from the image gets its own.
      await inChroot(root, 'passwd -d root; : > /etc/machine-id; apt-get clean');
      await tarTree(root, output);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** The files of one image that depend on its recipe, written into an unpacked base. */
export interface RootFiles {
  fstab: string;
}

export interface ImageTree {
  /** The tree as a tar file in the work directory. */
  tar: string;
  kernelVersion: string;
}

function kernelVersionIn(bootDir: string): string {
  const kernel = readdirSync(bootDir).find((name) => name.startsWith('vmlinuz-'));
  if (kernel === undefined)
    throw new Error(`debootstrap installed no kernel: no vmlinuz-* in ${bootDir}`);
  return kernel.slice('vmlinuz-'.length);
}

/** The base tree plus this image's own files and initramfs, as a tar file in `work`. */
export async function imageTree(
  recipe: DebianRecipe,
  files: RootFiles,
  work: string,
): Promise<ImageTree> {
  const base = await baseTar(recipe);
  const root = join(work, 'root');
  await execChecked(['mkdir', '-p', root]);
  await execChecked(['tar', '--numeric-owner', '--xattrs', '-C', root, '-xf', base]);
  writeFiles(root, { 'etc/fstab': files.fstab });
  if (recipe.deviceNames === 'device') {
    writeFiles(root, {
      'etc/default/grub': BASE_FILES['etc/default/grub'] + 'GRUB_DISABLE_LINUX_UUID=true\n',
    });
  }
  if (recipe.initramfsModules !== 'most') {
    writeFiles(root, {
      'etc/initramfs-tools/modules': recipe.initramfsModules.join('\n') + '\n',
    });
    await execChecked([
      'sed',
      '-i',
      's/^MODULES=.*/MODULES=list/',
      join(root, 'etc/initramfs-tools/initramfs.conf'),
    ]);
  }
  await inChroot(root, 'update-initramfs -u -k all');
  const kernelVersion = kernelVersionIn(join(root, 'boot'));
  const tar = join(work, 'root.tar');
  await tarTree(root, tar);
  rmSync(root, { recursive: true, force: true });
  return { tar, kernelVersion };
}
