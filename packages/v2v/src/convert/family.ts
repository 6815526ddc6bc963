/**
 * What differs between Linux distribution families for a conversion: how packages are
 * removed and the guest agent installed, and how the initramfs is rebuilt. Debian and its
 * derivatives (initramfs-tools) are what this tool is tested on; the dracut families
 * (RHEL, Fedora, SUSE, ALT) follow virt-v2v's commands but are untested (no such guest can
 * be built on the test machines: see the README).
 */
import type { Guestfs } from '@tsvirt/guestfs';
import { V2vError } from '../errors.js';
import type { Kernel } from './kernels.js';

export interface Family {
  readonly name: 'debian' | 'rhel' | 'suse' | 'alt';
  /** True when the tests convert a guest of this family. */
  readonly tested: boolean;
  /** Whether /boot names initramfs images initrd.img-VERSION (Debian) or initr{d,amfs}-... */
  readonly debianInitrdNaming: boolean;
  readonly sysv: 'debian' | 'redhat' | null;
  /** Removes installed packages by name. */
  removePackages(g: Guestfs, names: readonly string[]): Promise<void>;
  /** The first-boot script that installs the guest agent, or null when unknown. */
  installAgentScript(packageManagement: string): string | null;
  /** The command that starts the agent once installed (for the first boot itself). */
  readonly agentStartCommand: string | null;
  /** The tool that rebuilds an initramfs, as the user should read it. */
  readonly initramfsTool: string;
  /** Makes future rebuilds (kernel upgrades in the guest) include these modules too. */
  recordModules(g: Guestfs, modules: readonly string[]): Promise<string | null>;
  /** Rebuilds the kernel's initramfs with these modules (the old one kept as .pre-v2v). */
  rebuildInitramfs(
    g: Guestfs,
    kernel: Kernel,
    initrd: string,
    modules: readonly string[],
  ): Promise<void>;
}

const APT_INSTALL = (pkg: string) => `
      export DEBIAN_FRONTEND=noninteractive
      apt_opts='-q -y -o Dpkg::Options::=--force-confnew'
      apt-get $apt_opts update
      apt-get $apt_opts install '${pkg}'
    `;

const debian: Family = {
  name: 'debian',
  tested: true,
  debianInitrdNaming: true,
  sysv: 'debian',
  async removePackages(g, names) {
    await g.command(['dpkg', '--purge', ...names]);
  },
  installAgentScript: (pm) => (pm === 'apt' ? APT_INSTALL('qemu-guest-agent') : null),
  agentStartCommand: 'service qemu-guest-agent start',
  initramfsTool: 'update-initramfs',
  async recordModules(g, modules) {
    // As virt-v2v: the modules lens on /etc/initramfs-tools/modules, a comment, one line each.
    const file = '/etc/initramfs-tools/modules';
    const path = `/files${file}`;
    await g.augTransform('modules', file);
    await g.augLoad();
    await g.augSet(`${path}/#comment[last()+1]`, 'The following modules were added by tsv2v');
    for (const m of modules) await g.augClear(`${path}/${m}`);
    await g.augSave();
    return file;
  },
  async rebuildInitramfs(g, kernel, initrd) {
    if (!(await g.isFile('/usr/sbin/update-initramfs', { followsymlinks: true })))
      throw new V2vError(
        'CONVERSION',
        `the initramfs ${initrd} must be rebuilt but update-initramfs is not in the guest (install initramfs-tools in it)`,
      );
    await g.mv(initrd, `${initrd}.pre-v2v`);
    await g.command(['/usr/sbin/update-initramfs', '-c', '-k', kernel.modpath.split('/').pop()!]);
  },
};

/** dracut-based families: virt-v2v's commands, untested here. */
function dracutFamily(name: 'rhel' | 'suse' | 'alt'): Family {
  return {
    name,
    tested: false,
    debianInitrdNaming: false,
    sysv: name === 'rhel' ? 'redhat' : null,
    async removePackages(g, names) {
      await g.command(['rpm', '-e', '--allmatches', ...names]);
    },
    installAgentScript(pm) {
      switch (pm) {
        case 'dnf':
          return 'dnf -y install qemu-guest-agent';
        case 'yum':
          return 'yum -y install qemu-guest-agent';
        case 'zypper':
          return 'zypper -n in -l qemu-guest-agent';
        default:
          return null;
      }
    },
    agentStartCommand: name === 'suse' ? null : 'systemctl start qemu-guest-agent',
    initramfsTool: 'dracut',
    recordModules() {
      // dracut takes the drivers on its command line; nothing to record for later rebuilds.
      return Promise.resolve(null);
    },
    async rebuildInitramfs(g, kernel, initrd, modules) {
      const dracut = (await g.isFile('/sbin/dracut', { followsymlinks: true }))
        ? '/sbin/dracut'
        : (await g.isFile('/usr/bin/dracut', { followsymlinks: true }))
          ? '/usr/bin/dracut'
          : null;
      if (dracut === null)
        throw new V2vError(
          'CONVERSION',
          `the initramfs ${initrd} must be rebuilt but dracut is not in the guest`,
        );
      await g.mv(initrd, `${initrd}.pre-v2v`);
      await g.command([
        dracut,
        '--add-drivers',
        modules.join(' '),
        initrd,
        kernel.modpath.split('/').pop()!,
      ]);
    },
  };
}

export function familyOf(distro: string): Family | null {
  switch (distro) {
    case 'debian':
    case 'ubuntu':
    case 'linuxmint':
    case 'kalilinux':
      return debian;
    case 'fedora':
    case 'rhel':
    case 'centos':
    case 'scientificlinux':
    case 'redhat-based':
    case 'oraclelinux':
    case 'rocky':
      return dracutFamily('rhel');
    case 'sles':
    case 'suse-based':
    case 'opensuse':
      return dracutFamily('suse');
    case 'altlinux':
      return dracutFamily('alt');
    default:
      return null;
  }
}
