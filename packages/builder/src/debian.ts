// Debian 12 as the builder makes it: the tree every Debian 12 disk made here starts from
// (debootstrap from Debian's archive, minutes, so cached and shared with the test images of
// testing/images), and the `debian-12` base image: a cloud-style guest that every build
// copies and customises.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cached, copyHashed, useCachedFile } from './cache.js';
import { assembleDisk, type DiskLayout } from './disk.js';
import {
  checkPackageNames,
  debootstrap,
  DEFAULT_MIRROR,
  finishTree,
  inChroot,
  requireRoot,
  tarTree,
  writeTreeFiles,
  type TreeFiles,
} from './tree.js';

export const DEBIAN_12_SUITE = 'bookworm';

/** What debootstrap installs (variant minbase) for every Debian 12 disk made here. */
export const DEBIAN_12_PACKAGES: readonly string[] = [
  'linux-image-amd64',
  'systemd-sysv',
  'initramfs-tools',
  'grub-pc',
  'lvm2',
  'e2fsprogs',
  'udev',
  'kmod',
  'ifupdown',
  'isc-dhcp-client',
];

/** Grub and the kernel on the serial console (ttyS0, the last console= gets /dev/console,
 *  and systemd starts a getty there), and on the screen; eth0 for the first NIC. */
export const DEBIAN_12_GRUB_DEFAULTS =
  'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR=Debian\n' +
  'GRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 net.ifnames=0"\n' +
  'GRUB_TERMINAL="console serial"\nGRUB_SERIAL_COMMAND="serial --speed=115200"\n';

/** The files every Debian 12 tree made here has. Paths relative to the root. */
export const DEBIAN_12_TREE_FILES: TreeFiles = {
  'etc/hostname': 'debian\n',
  'etc/hosts':
    '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  // The first NIC, whatever its name, by DHCP (net.ifnames=0 below names it eth0).
  'etc/network/interfaces':
    'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n',
  'etc/default/grub': DEBIAN_12_GRUB_DEFAULTS,
  // No swap partition to resume from: without this the initramfs waits for one.
  'etc/initramfs-tools/conf.d/resume': 'RESUME=none\n',
};

/** Run in the tree after debootstrap. Root without a password and no machine-id: what a
 *  test guest wants (it logs in on the console, and each guest makes its own machine-id);
 *  an image that wants otherwise (debian-12 locks root) says so in its own script. */
const TREE_SCRIPT = 'passwd -d root; : > /etc/machine-id; apt-get clean';

/** Bump when the way the tree is made changes without its packages changing. */
const TREE_VERSION = 1;

/**
 * The cache key of the Debian 12 tree with `extraPackages` on top of DEBIAN_12_PACKAGES. The
 * fields and their names are those the test images first cached the tree under
 * (testing/images, where it began): kept, so that the trees already cached on a machine,
 * and the test images keyed by them, stay valid.
 */
export function debian12TreeKey(extraPackages: readonly string[] = []): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        RECIPE_VERSION: TREE_VERSION,
        SUITE: DEBIAN_12_SUITE,
        BASE_PACKAGES: DEBIAN_12_PACKAGES,
        extra: [...extraPackages].sort(),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

export function debian12TreeName(extraPackages: readonly string[] = []): string {
  return `debian-${DEBIAN_12_SUITE}-base-${debian12TreeKey(extraPackages)}.tar`;
}

/**
 * The Debian 12 tree as a tar file in `cacheDir`, made on first use (debootstrap from the
 * mirror: 3 minutes on a quiet machine, more on a loaded one) and shared by every image
 * made of the same packages.
 */
export async function debian12Tree(
  cacheDir: string,
  extraPackages: readonly string[] = [],
  signal?: AbortSignal,
): Promise<string> {
  checkPackageNames(extraPackages, 'extra packages');
  return cached(cacheDir, debian12TreeName(extraPackages), async (output) => {
    requireRoot('building the Debian 12 tree');
    const root = `${output}.work`;
    await debootstrap(
      root,
      { suite: DEBIAN_12_SUITE, packages: [...DEBIAN_12_PACKAGES, ...[...extraPackages].sort()] },
      signal,
    );
    writeTreeFiles(root, DEBIAN_12_TREE_FILES);
    await inChroot(root, TREE_SCRIPT, { signal });
    await tarTree(root, output, signal);
    rmSync(root, { recursive: true, force: true });
  });
}

/** A base image the builder knows how to make. */
export interface ImageDefinition {
  name: string;
  description: string;
  suite: string;
  /** Installed with apt into the Debian 12 tree (from the mirror, while the image is made). */
  packages: readonly string[];
  layout: DiskLayout;
  /** The base image's virtual size, and so the smallest size a build can ask for. */
  sizeBytes: bigint;
  /** The image's own files (its fstab names `rootUuid`). */
  files(rootUuid: string, mirror: string): TreeFiles;
  /** Run in a chroot once the files are written and the packages installed. */
  script: string;
}

/** Where first-boot scripts wait (as virt-customize's firstboot), and where they go once run. */
export const FIRSTBOOT_DIR = '/usr/local/lib/tsbuilder/firstboot.d';
export const FIRSTBOOT_LOG = '/root/tsbuilder-firstboot.log';

const FIRSTBOOT_RUNNER = `#!/bin/sh
# Runs, once and in order, the scripts tsbuilder put in ${FIRSTBOOT_DIR}; each moves to
# ${FIRSTBOOT_DIR.replace(/\.d$/, '.done')} after its run. Output: the journal, the console
# and ${FIRSTBOOT_LOG}.
done_dir=${FIRSTBOOT_DIR.replace(/\.d$/, '.done')}
mkdir -p "$done_dir"
for script in ${FIRSTBOOT_DIR}/*; do
  [ -f "$script" ] || continue
  { echo "tsbuilder-firstboot: running $script"; "$script"; echo "tsbuilder-firstboot: $script exited with status $?"; } 2>&1 | tee -a ${FIRSTBOOT_LOG}
  mv "$script" "$done_dir/"
done
`;

const unit = (lines: string[]): string => lines.join('\n') + '\n';

const DEBIAN_12: ImageDefinition = {
  name: 'debian-12',
  description:
    'Debian 12 (bookworm): kernel, systemd, grub (BIOS), openssh-server; DHCP on eth0, serial console, root by ssh key only',
  suite: DEBIAN_12_SUITE,
  packages: ['openssh-server'],
  layout: 'mbr-ext4',
  sizeBytes: 2n << 30n,
  files: (rootUuid, mirror) => ({
    'etc/fstab': `UUID=${rootUuid} / ext4 errors=remount-ro 0 1\n`,
    'etc/apt/sources.list': `deb ${mirror} ${DEBIAN_12_SUITE} main\n`,
    // Cloud-style: keys only (root's default is already prohibit-password).
    'etc/ssh/sshd_config.d/tsbuilder.conf':
      'PasswordAuthentication no\nKbdInteractiveAuthentication no\n',
    // The image has no host keys: each guest makes its own at its first boot.
    'etc/systemd/system/tsbuilder-ssh-host-keys.service': unit([
      '[Unit]',
      'Description=Make the SSH host keys this machine lacks (tsbuilder images have none until their first boot)',
      'Before=ssh.service',
      'ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key',
      '',
      '[Service]',
      'Type=oneshot',
      'ExecStart=/usr/bin/ssh-keygen -A',
      '',
      '[Install]',
      'WantedBy=ssh.service',
    ]),
    'usr/local/lib/tsbuilder/firstboot': { content: FIRSTBOOT_RUNNER, mode: 0o755 },
    'etc/systemd/system/tsbuilder-firstboot.service': unit([
      '[Unit]',
      'Description=First-boot scripts of tsbuilder',
      `ConditionDirectoryNotEmpty=${FIRSTBOOT_DIR}`,
      'Wants=network-online.target',
      'After=network-online.target',
      '',
      '[Service]',
      'Type=oneshot',
      'ExecStart=/usr/local/lib/tsbuilder/firstboot',
      'StandardOutput=journal+console',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
    ]),
  }),
  // Root's password locked (log in with a key; --root-password is not offered). No machine-id,
  // no host keys, no resolv.conf (the host's, copied by debootstrap): systemd, the unit
  // above and dhclient make them in each guest.
  script: [
    'passwd -l root',
    `mkdir -p ${FIRSTBOOT_DIR}`,
    'rm -f /etc/ssh/ssh_host_* /etc/resolv.conf /var/lib/dbus/machine-id',
    ': > /etc/machine-id',
    'systemctl enable tsbuilder-ssh-host-keys.service tsbuilder-firstboot.service',
    'update-initramfs -u -k all',
  ].join('\n'),
};

export const IMAGES: ReadonlyMap<string, ImageDefinition> = new Map([[DEBIAN_12.name, DEBIAN_12]]);

/** Bump when the way base images are assembled changes. */
const IMAGE_VERSION = 1;

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * A UUID derived from a key, so that a rebuilt image is the same image. The text is hashed
 * as it is (not as JSON): images cached by @tsvirt/testimages before this package existed
 * carry these UUIDs, and a test checks them.
 */
export function stableUuid(key: string, what: string): string {
  const h = createHash('sha256').update(`${key}:${what}`).digest('hex');
  const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The cache name of an image's base: everything that goes into it is in the key (the tree,
 *  packages, files, script, layout, size, mirror), so a changed recipe is a new base. */
export function baseImageName(image: ImageDefinition, mirror = DEFAULT_MIRROR): string {
  const recipe = {
    IMAGE_VERSION,
    tree: debian12TreeName(),
    ...image,
    sizeBytes: String(image.sizeBytes),
    files: image.files('UUID', mirror),
  };
  return `${image.name}-base-${hash(recipe).slice(0, 16)}.qcow2`;
}

/** Makes the base image (qcow2) at `output`: the Debian 12 tree (cached), the image's
 *  packages, files and script in a chroot, then the disk assembled in the appliance. */
async function buildBase(
  image: ImageDefinition,
  cacheDir: string,
  output: string,
  onStep: (text: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const mirror = DEFAULT_MIRROR;
  onStep(`the Debian 12 tree (debootstrap, cached in ${cacheDir})`);
  const tree = await debian12Tree(cacheDir, [], signal);
  const rootUuid = stableUuid(baseImageName(image, mirror), 'root');
  const work = `${output}.work`;
  mkdirSync(work);
  try {
    onStep(`finishing the ${image.name} tree (apt-get install ${image.packages.join(' ')})`);
    const tar = join(work, 'root.tar');
    await finishTree(
      {
        base: tree,
        packages: image.packages,
        files: image.files(rootUuid, mirror),
        script: image.script,
      },
      work,
      tar,
      signal,
    );
    onStep(`assembling the ${image.name} base image (the appliance, a minute or two)`);
    await assembleDisk(
      tar,
      output,
      { layout: image.layout, format: 'qcow2', sizeBytes: image.sizeBytes, rootUuid },
      signal,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Copies the base image of `image` to `output` (qcow2), building the base first if it is not
 * in the cache. The copy is read through a hash: a base that does not match its checksum is
 * built again before the copy is redone.
 */
export async function copyBaseImage(
  image: ImageDefinition,
  cacheDir: string,
  output: string,
  onStep: (text: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  await useCachedFile(
    cacheDir,
    baseImageName(image),
    (temp) => buildBase(image, cacheDir, temp, onStep, signal),
    async (path) => {
      rmSync(output, { force: true });
      return { sha256: await copyHashed(path, output, signal), result: undefined };
    },
    (path) => onStep(`${path} does not match its checksum: building it again`),
  );
}
