// Checks, before anything is started, that the machine can run a cluster, so that a missing
// piece is reported with its fix instead of as a daemon's cryptic failure halfway through.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import which from 'which';
import { ClusterError } from './errors.js';

const INSTALL_HINT = 'run scripts/install-debian-packages (as root) from the repository root';

/** Programs the cluster runs, and the Debian package of each. */
const PROGRAMS: readonly (readonly [program: string, pkg: string])[] = [
  ['libvirtd', 'libvirt-daemon'],
  ['virt-ssh-helper', 'libvirt-daemon'],
  ['virsh', 'libvirt-clients'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['qemu-img', 'qemu-utils'],
  ['sshd', 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
];

/** Files that are not programs on the PATH. */
const FILES: readonly (readonly [path: string, pkg: string])[] = [
  [
    '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so',
    'libvirt-daemon-driver-qemu',
  ],
];

/** What building the guest image needs on top of a node's programs. */
const IMAGE_PROGRAMS: readonly (readonly [program: string, pkg: string])[] = [
  ['cpio', 'cpio'],
  ['grub-mkrescue', 'grub-common'],
  ['xorriso', 'xorriso'],
];

/** The program on the PATH, or in the sbin directories a non-root PATH may lack. */
function findProgram(program: string): string | null {
  const path = [process.env['PATH'] ?? '', '/usr/sbin', '/sbin'].join(delimiter);
  return which.sync(program, { nothrow: true, path });
}

function missingError(missing: string[], packages: Set<string>): ClusterError {
  return new ClusterError(
    'MISSING_PREREQUISITE',
    `missing ${missing.join(', ')} (Debian package${packages.size > 1 ? 's' : ''} ` +
      `${[...packages].join(' ')}); ${INSTALL_HINT}`,
  );
}

export function checkRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new ClusterError(
      'NOT_ROOT',
      'the test cluster needs root: it makes mount namespaces and runs libvirtd and sshd on port 22; run it as root (e.g. with sudo)',
    );
  }
}

/** Everything a node needs: root, the programs and the qemu driver. */
export function checkNodePrerequisites(): void {
  checkRoot();
  const missing: string[] = [];
  const packages = new Set<string>();
  for (const [program, pkg] of PROGRAMS) {
    if (findProgram(program) === null) {
      missing.push(program);
      packages.add(pkg);
    }
  }
  for (const [path, pkg] of FILES) {
    if (!existsSync(path)) {
      missing.push(path);
      packages.add(pkg);
    }
  }
  if (missing.length > 0) throw missingError(missing, packages);
}

/** The newest Debian kernel in /boot, and a statically linked busybox. */
export function checkImagePrerequisites(): { kernel: string; busybox: string } {
  const missing: string[] = [];
  const packages = new Set<string>();
  for (const [program, pkg] of IMAGE_PROGRAMS) {
    if (findProgram(program) === null) {
      missing.push(program);
      packages.add(pkg);
    }
  }
  if (!existsSync('/usr/lib/grub/i386-pc/boot_hybrid.img')) {
    missing.push('/usr/lib/grub/i386-pc (grub for BIOS)');
    packages.add('grub-pc-bin');
  }
  const kernel = newestKernel();
  if (kernel === null) {
    missing.push('a kernel /boot/vmlinuz-*');
    packages.add('linux-image-amd64');
  }
  const busybox = '/bin/busybox';
  if (!existsSync(busybox) || !isStaticExecutable(busybox)) {
    missing.push('a statically linked /bin/busybox');
    packages.add('busybox-static');
  }
  if (missing.length > 0 || kernel === null) throw missingError(missing, packages);
  return { kernel, busybox };
}

/** /boot/vmlinuz-* with the highest version, or null. */
export function newestKernel(): string | null {
  let names: string[];
  try {
    names = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-'));
  } catch {
    return null;
  }
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const newest = names.at(-1);
  return newest === undefined ? null : join('/boot', newest);
}

/** A dynamically linked ELF names its loader (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2,
 *  near its start; a static one does not. The initramfs has no libraries. */
function isStaticExecutable(path: string): boolean {
  const head = readFileSync(path).subarray(0, 4096);
  return head.subarray(0, 4).toString('latin1') === '\x7fELF' && !head.includes('/ld-linux');
}

/** Fails when anything listens on address:22 (another cluster, the host's own sshd on
 *  0.0.0.0). The address itself must be a loopback address, which Linux answers on all of
 *  127.0.0.0/8 without configuration. */
export async function checkAddressFree(
  address: string,
  nodeName: string,
  usedBy: string | null,
): Promise<void> {
  const server = createServer();
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host: address, port: 22, exclusive: true }, () => resolve(null));
  });
  if (error === null) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return;
  }
  if (error.code === 'EADDRINUSE') {
    const fix =
      usedBy === null
        ? 'stop what listens there (ss -ltnp shows it; an sshd on all addresses also blocks it)'
        : `it belongs to test cluster "${usedBy}": stop it with testcluster down --name ${usedBy}`;
    throw new ClusterError(
      'ADDRESS_IN_USE',
      `${nodeName}'s address ${address} port 22 is already in use; ${fix}, or choose other addresses with --address-prefix`,
    );
  }
  throw new ClusterError(
    'BAD_OPTION',
    `cannot listen on ${address} port 22 for ${nodeName}: ${error.message}; use a loopback prefix such as 127.0.0.`,
  );
}
