/**
 * The conversion of a Linux guest, mounted read-write in the appliance (on the overlay), to
 * run on KVM: virt-v2v's convert_linux.ml step by step, for the families of family.ts. One
 * departure, the point of this tool: the initramfs is rebuilt only when it lacks what the
 * target needs (its file list is read on the host), and grub.cfg's device names are edited
 * in place rather than regenerated in the appliance (whose grub-mkconfig writes the
 * appliance's own /dev/sda names back). Every decision is reported with its reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Guestfs, GuestfsError, type InspectedOs } from '@tsvirt/guestfs';
import { V2vError, messageOf } from '../errors.js';
import type { Firmware, SourceController } from '../source.js';
import { type Bootloader, detectBootloader } from './bootloader.js';
import { type Family, familyOf } from './family.js';
import { Firstboot } from './firstboot.js';
import type { GuestCaps } from './guestcaps.js';
import { listInitramfs } from './initramfs.js';
import {
  type Kernel,
  bestKernel,
  detectKernels,
  moduleClosure,
  moduleName,
  normaliseModule,
} from './kernels.js';

export interface LinuxConversionOptions {
  /** Source disks' buses, in order (null: unknown, taken as IDE as virt-v2v does). */
  readonly controllers: readonly (SourceController | null)[];
  readonly firmware: Firmware;
  readonly keepSerialConsole: boolean;
  /** Only look and decide (dry run): nothing in the guest is changed. */
  readonly dryRun: boolean;
  /** Called with each decision as it is made (and before the slow steps), for the output. */
  readonly onStep?: ((text: string) => void) | undefined;
}

export interface InitramfsDecision {
  readonly kernel: string;
  readonly initrd: string | null;
  /** Modules the guest needs in its initramfs to find its disk on virtio-blk. */
  readonly required: readonly string[];
  readonly missing: readonly string[];
  readonly rebuild: boolean;
  readonly reason: string;
  /** The initramfs's parts, as read on the host. */
  readonly parts: readonly string[];
}

export interface LinuxConversion {
  readonly family: Family['name'];
  readonly kernel: string;
  readonly initramfs: InitramfsDecision;
  readonly guestcaps: GuestCaps;
  /** What was decided and why, one line each, in order. */
  readonly decisions: readonly string[];
  readonly warnings: readonly string[];
}

/** virt-v2v's list, in its order (the probing order matters to old kernels). */
const INITRAMFS_MODULES = [
  'virtio',
  'virtio_ring',
  'virtio_blk',
  'virtio_scsi',
  'virtio_net',
  'virtio_pci',
  'xts',
  'bochs-drm',
  'bochs',
];
/** What a guest needs in its initramfs to find its root disk on virtio-blk. */
const BOOT_MODULES = ['virtio_blk', 'virtio_pci'];

/** Other hypervisors' guest tools, by package name. */
function hypervisorPackages(os: InspectedOs, family: Family): string[] {
  const names = os.applications.map((a) => a.name);
  const ubuntuServer = family.name === 'debian' && names.includes('ubuntu-server');
  return names.filter(
    (n) =>
      n === 'kmod-xenpv' ||
      n.startsWith('kmod-xenpv-') ||
      n === 'virtualbox-guest-additions' ||
      n.startsWith('virtualbox-guest-') ||
      n.startsWith('vmware-tools-') ||
      n === 'VMwareTools' ||
      n.startsWith('kmod-vmware-tools') ||
      n.startsWith('open-vm-tools-') ||
      (n === 'open-vm-tools' && !ubuntuServer) ||
      n.startsWith('xe-guest-utilities') ||
      n.startsWith('xen-guest-agent'),
  );
}

/** Tarball-installed tools and their uninstallers (virt-v2v runs these too). */
const UNINSTALLERS = [
  ['/usr/bin/vmware-uninstall-tools.pl', 'VMware Tools'],
  ['/usr/lib/parallels-tools/install', 'Parallels Tools'],
] as const;

/** drive_name: 0 -> a, 25 -> z, 26 -> aa. */
export function driveName(index: number): string {
  let name = '';
  for (let i = index + 1; i > 0; i = Math.floor((i - 1) / 26))
    name = String.fromCharCode(97 + ((i - 1) % 26)) + name;
  return name;
}

/** Source device name prefix -> target device, as virt-v2v's remap_block_devices. */
export function deviceMap(
  controllers: readonly (SourceController | null)[],
  family: Family,
  majorVersion: number,
  blockBus: GuestCaps['blockBus'],
): Map<string, string> {
  const idePrefix =
    family.name === 'suse' || (family.name === 'rhel' && majorVersion <= 5) ? 'hd' : 'sd';
  const after = blockBus === 'virtio' ? 'vd' : idePrefix;
  const map = new Map<string, string>();
  controllers.forEach((controller, i) => {
    const before =
      controller === 'virtio'
        ? 'vd'
        : controller === 'scsi' || controller === 'sata'
          ? 'sd'
          : controller === 'nvme'
            ? null
            : idePrefix;
    const target = after + driveName(i);
    map.set(before === null ? `nvme${i}n1` : before + driveName(i), target);
    map.set(`xvd${driveName(i)}`, target);
  });
  return map;
}

/** Rewrites /dev/NAME[N] when NAME is in the map; other values are returned unchanged. */
export function remapDevice(value: string, map: ReadonlyMap<string, string>): string {
  const m = /^\/dev\/(nvme\d+n1|[a-z]+)((?:p)?\d*)$/.exec(value);
  if (!m) return value;
  const target = map.get(m[1]!);
  if (target === undefined) return value;
  return `/dev/${target}${m[2]!.replace(/^p/, '')}`;
}

/** Rewrites root=/resume=/dev names inside a kernel command line. */
export function remapCmdline(cmdline: string, map: ReadonlyMap<string, string>): string {
  return cmdline.replace(
    /\b(root|resume)=(\/dev\/[-a-z\d/_]+)/g,
    (_all, key: string, dev: string) => `${key}=${remapDevice(dev, map)}`,
  );
}

export async function convertLinux(
  g: Guestfs,
  os: InspectedOs,
  options: LinuxConversionOptions,
): Promise<LinuxConversion> {
  const family = familyOf(os.distro);
  if (family === null || !['rpm', 'deb'].includes(os.packageFormat))
    throw new V2vError(
      'UNSUPPORTED_GUEST',
      `cannot convert ${os.productName} (${os.distro}, packages: ${os.packageFormat}): supported are the Debian family and, untested, the RHEL, SUSE and ALT families`,
    );
  if (os.applications.length === 0)
    throw new V2vError(
      'CONVERSION',
      `the package database of ${os.productName} could not be read (inspection listed no packages): the guest may be damaged`,
    );
  const decisions: string[] = [];
  /** Records a decision and reports it at once. */
  const decide = (text: string): void => {
    decisions.push(text);
    options.onStep?.(text);
  };
  const warnings: string[] = [];
  const step = (text: string) => options.onStep?.(text);
  const write = !options.dryRun;
  if (!family.tested)
    warnings.push(
      `the ${family.name} family is converted with virt-v2v's commands but is untested here`,
    );

  await g.augInit('/', 1);
  if (write && os.packageFormat === 'rpm')
    for (const db of await g.globExpand('/var/lib/rpm/__db.00?')) await g.rmF(db);

  const bootloader = await detectBootloader(g, options.firmware);
  decide(`bootloader: ${bootloader.kind} (${bootloader.config})`);
  const kernels = await detectKernels(g, family.debianInitrdNaming);
  const kernel = bestKernel(kernels);
  if (kernel === null)
    throw new V2vError(
      'CONVERSION',
      'no kernel with a module directory found in /boot: cannot convert this guest',
    );
  decide(
    `kernel: ${kernel.version} (${kernels.length} installed; virtio-blk ${kernel.supportsVirtioBlk ? 'yes' : 'no'}, virtio-net ${kernel.supportsVirtioNet ? 'yes' : 'no'})`,
  );

  // Other hypervisors' tools.
  const remove = hypervisorPackages(os, family);
  if (remove.length > 0) {
    decide(`removing other hypervisors' packages: ${remove.join(', ')}`);
    if (write) await family.removePackages(g, remove);
  } else decide("other hypervisors' packages: none installed");
  for (const [path, what] of UNINSTALLERS) {
    if (!(await g.isFile(path, { followsymlinks: true }))) continue;
    decide(`running the ${what} uninstaller ${path}`);
    if (!write) continue;
    try {
      await g.command(path === UNINSTALLERS[1][0] ? [path, '-r'] : [path]);
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
      warnings.push(`${what} were found, but ${path} failed: ${e.message} (ignored)`);
    }
  }
  if (write) await g.augLoad();

  // The guest agent, at first boot.
  const firstboot = new Firstboot(g, family.sysv);
  if (os.applications.some((a) => a.name === 'qemu-guest-agent'))
    decide('guest agent: qemu-guest-agent is already installed');
  else {
    const install = family.installAgentScript(os.packageManagement);
    if (install === null)
      warnings.push(
        `the guest agent will not be installed: no install command for package manager ${os.packageManagement}`,
      );
    else {
      decide(
        'guest agent: qemu-guest-agent will be installed at first boot (it needs the network then)',
      );
      if (write) {
        await firstboot.add('wait online', WAIT_ONLINE);
        await firstboot.add('setenforce 0', SETENFORCE_0);
        await firstboot.add('install qga', install);
        await firstboot.add('setenforce restore', SETENFORCE_RESTORE);
        if (family.agentStartCommand !== null)
          await firstboot.add('start qga', `#!/bin/sh\n${family.agentStartCommand}\n`);
      }
    }
  }

  // Serial console: as virt-v2v, Xen's hvc0/xvc0 consoles are removed (or, with
  // --keep-serial-console, moved to ttyS0); console=ttyS0 itself is left alone.
  const consoleChanged = await handleConsole(g, bootloader, options.keepSerialConsole, write);
  decide(
    consoleChanged.length > 0
      ? `serial console: ${consoleChanged.join('; ')}`
      : 'serial console: no Xen console (hvc0/xvc0) references; left as it is',
  );

  const blockBus = kernel.supportsVirtioBlk ? 'virtio' : 'ide';
  const netModel = kernel.supportsVirtioNet ? 'virtio' : 'e1000';
  if (write) await configureDisplay(g, warnings);

  // Device names in fstab and the bootloader.
  const map = deviceMap(options.controllers, family, os.majorVersion, blockBus);
  const remapped = await remapBlockDevices(g, bootloader, map, write, warnings);
  decide(
    remapped.length > 0
      ? `device names: ${remapped.join('; ')}`
      : 'device names: nothing to remap (fstab and the kernel command line use UUID= or LABEL=)',
  );
  if (write) await configureModprobe(g, blockBus, netModel);

  // The initramfs: rebuilt only when it lacks what the target needs.
  const initramfs = await decideInitramfs(g, kernel, family);
  decide(`initramfs ${initramfs.initrd ?? '(none)'}: ${initramfs.reason}`);
  const modules = INITRAMFS_MODULES.filter((m) => kernel.modules.has(m));
  if (write) {
    const recorded = await family.recordModules(g, modules.length > 0 ? modules : ['sym53c8xx']);
    if (recorded !== null) decide(`${recorded}: lists ${modules.join(' ')} for future rebuilds`);
    if (initramfs.rebuild && initramfs.initrd !== null) {
      step(`rebuilding the initramfs with ${family.initramfsTool} (slow without KVM)`);
      try {
        await family.rebuildInitramfs(g, kernel, initramfs.initrd, modules);
      } catch (e) {
        if (e instanceof V2vError) throw e;
        throw new V2vError('CONVERSION', `rebuilding ${initramfs.initrd} failed: ${messageOf(e)}`, {
          cause: e,
        });
      }
    }
    await relabelIfSelinux(g, decide);
    for (const cache of [
      '/etc/blkid/blkid.tab',
      '/etc/blkid.tab',
      '/etc/lvm/cache/.cache',
      '/etc/lvm/devices/system.devices',
    ])
      await g.rmF(cache);
  }
  if (options.firmware === 'uefi')
    warnings.push(
      'UEFI guests are converted as virt-v2v does, but untested here (no UEFI fallback path is made)',
    );

  const machine =
    os.distro === 'debian' || os.distro === 'ubuntu' ? (os.majorVersion < 4 ? 'pc' : 'q35') : 'q35';
  decide(`machine: ${machine} (${os.osinfo}); disk bus ${blockBus}, NIC ${netModel}`);
  return {
    family: family.name,
    kernel: kernel.version,
    initramfs,
    decisions,
    warnings,
    guestcaps: {
      blockBus,
      netModel,
      virtioRng: kernel.supportsVirtioRng,
      virtioBalloon: kernel.supportsVirtioBalloon,
      isaPvpanic: kernel.supportsIsaPvpanic,
      virtioSocket: kernel.supportsVirtioSocket,
      machine,
      arch: os.arch,
      acpi: true,
    },
  };
}

/** Reads the kernel's initramfs on the host and decides whether it must be rebuilt. */
async function decideInitramfs(
  g: Guestfs,
  kernel: Kernel,
  family: Family,
): Promise<InitramfsDecision> {
  const required = moduleClosure(kernel, BOOT_MODULES);
  const base = { kernel: kernel.version, initrd: kernel.initrd, required };
  if (kernel.initrd === null)
    return {
      ...base,
      missing: required,
      rebuild: false,
      parts: [],
      reason: `no initramfs for ${kernel.version}: nothing to rebuild`,
    };
  if (required.length === 0)
    return {
      ...base,
      missing: [],
      rebuild: false,
      parts: [],
      reason: 'kept: virtio-blk and virtio-pci are built into the kernel',
    };
  const dir = mkdtempSync(join(tmpdir(), 'tsv2v-initrd-'));
  try {
    const local = join(dir, 'initrd');
    await g.download(kernel.initrd, local);
    let listing;
    try {
      listing = await listInitramfs(local);
    } catch (e) {
      if (e instanceof V2vError && e.code === 'TOOL_MISSING') throw e;
      return {
        ...base,
        missing: required,
        rebuild: true,
        parts: [],
        reason: `rebuilt with ${family.initramfsTool}: its contents cannot be read on the host (${messageOf(e)})`,
      };
    }
    const present = new Set(
      listing.files
        .filter((f) => f.includes(`/modules/${kernel.version}/`))
        .flatMap((f) => {
          const n = moduleName(f);
          return n === null ? [] : [normaliseModule(n)];
        }),
    );
    const missing = required.filter((m) => !present.has(m));
    const parts = listing.parts;
    if (missing.length === 0)
      return {
        ...base,
        missing,
        rebuild: false,
        parts,
        reason: `kept: it already has ${required.join(', ')} (${parts.join(' + ')}); no rebuild needed`,
      };
    return {
      ...base,
      missing,
      rebuild: true,
      parts,
      reason: `rebuilt with ${family.initramfsTool}: it lacks ${missing.join(', ')} (${parts.join(' + ')})`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function augValues(g: Guestfs, patterns: readonly string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const p of patterns) paths.push(...(await g.augMatch(p)));
  return paths;
}

async function handleConsole(
  g: Guestfs,
  bootloader: Bootloader,
  keep: boolean,
  write: boolean,
): Promise<string[]> {
  const changed: string[] = [];
  const xen = /\b([xh]vc0)\b/g;
  for (const path of await g.augMatch('/files/etc/inittab/*/process')) {
    const proc = await g.augGet(path);
    if (keep) {
      const next = proc.replace(xen, 'ttyS0');
      if (next !== proc) {
        changed.push(`inittab: ${proc} -> ${next}`);
        if (write) await g.augSet(path, next);
      }
    } else if (/\b([xh]vc0|ttyS0)\b/.test(proc)) {
      changed.push(`inittab: removed the getty "${proc}"`);
      if (write) await g.augRm(`${path}/..`);
    }
  }
  for (const path of await g.augMatch('/files/etc/securetty/*')) {
    const tty = await g.augGet(path);
    if (tty !== 'xvc0' && tty !== 'hvc0') continue;
    changed.push(`securetty: ${tty} ${keep ? '-> ttyS0' : 'removed'}`);
    if (write) await (keep ? g.augSet(path, 'ttyS0') : g.augRm(path));
  }
  const [cmdlinePath] = await augValues(g, bootloader.cmdlinePatterns);
  if (cmdlinePath !== undefined) {
    const cmdline = await g.augGet(cmdlinePath);
    const next = cmdline
      .replace(/\bconsole=[xh]vc0\b/g, keep ? 'console=ttyS0' : '')
      .replace(/\s+/g, ' ')
      .trim();
    if (next !== cmdline.trim()) {
      changed.push(
        `${cmdlinePath.replace(/^\/files/, '')}: ${keep ? 'console=hvc0/xvc0 -> console=ttyS0' : 'console=hvc0/xvc0 removed'}`,
      );
      if (write) {
        await g.augSet(cmdlinePath, next);
        await editGrubCfg(g, bootloader, (line) =>
          line.replace(/\s*\bconsole=[xh]vc0\b/g, keep ? ' console=ttyS0' : ''),
        );
      }
    }
  }
  if (write && changed.length > 0) await g.augSave();
  return changed;
}

async function configureDisplay(g: Guestfs, warnings: string[]): Promise<void> {
  const conf = '/etc/X11/xorg.conf';
  let updated = false;
  for (const path of await g.augMatch(`/files${conf}/Device/Driver`)) {
    await g.augSet(path, 'modesetting');
    updated = true;
  }
  for (const what of ['VendorName', 'BoardName'])
    for (const path of await g.augMatch(`/files${conf}/Device/${what}`)) await g.augRm(path);
  await g.augSave();
  if (updated && !(await g.isFile('/usr/bin/X', { followsymlinks: true })))
    warnings.push(
      'the X display driver was set to modesetting, but X11 does not seem to be installed',
    );
}

/** Applies `edit` to each `linux` line of grub.cfg (grub 2). Returns how many lines changed. */
async function editGrubCfg(
  g: Guestfs,
  bootloader: Bootloader,
  edit: (line: string) => string,
): Promise<number> {
  if (bootloader.kind !== 'grub2') return 0;
  const text = await g.cat(bootloader.config);
  let count = 0;
  const next = text
    .split('\n')
    .map((line) => {
      if (!/^\s*linux(efi|16)?\s/.test(line)) return line;
      const changed = edit(line);
      if (changed !== line) count++;
      return changed;
    })
    .join('\n');
  if (count > 0) await g.writeFile(bootloader.config, next);
  return count;
}

async function remapBlockDevices(
  g: Guestfs,
  bootloader: Bootloader,
  map: ReadonlyMap<string, string>,
  write: boolean,
  warnings: string[],
): Promise<string[]> {
  const changed: string[] = [];
  for (const path of await augValues(g, [
    '/files/etc/fstab/*/spec',
    ...bootloader.devicePatterns,
  ])) {
    const value = await g.augGet(path);
    const next = path.includes('GRUB_CMDLINE') ? remapCmdline(value, map) : remapDevice(value, map);
    if (next === value) {
      const m = /^\/dev\/([a-z]+)\d*$/.exec(value);
      if (m && !/^(md|fd|sr|scd|cdrom|mapper|disk)/.test(m[1]!) && !path.includes('GRUB_CMDLINE'))
        warnings.push(
          `${path.replace(/^\/files/, '')} names ${value}, which is not one of the converted disks: check it after the conversion`,
        );
      continue;
    }
    changed.push(
      `${path.replace(/^\/files/, '').replace(/\/\d+\/spec$/, '')}: ${value} -> ${next}`,
    );
    if (write) await g.augSet(path, next);
  }
  if (changed.length > 0 && write) await g.augSave();
  // grub.cfg itself: the root= of its linux lines (see the header for why not grub-mkconfig).
  const text = bootloader.kind === 'grub2' ? await g.cat(bootloader.config) : '';
  const lines = text
    .split('\n')
    .filter((l) => /^\s*linux(efi|16)?\s/.test(l) && remapCmdline(l, map) !== l).length;
  if (lines > 0) {
    changed.push(`${bootloader.config}: root=/resume= device names on ${lines} linux line(s)`);
    if (write) await editGrubCfg(g, bootloader, (l) => remapCmdline(l, map));
  }
  return changed;
}

/** modprobe aliases of the old NIC and disk controller (virt-v2v's configure_kernel_modules). */
async function configureModprobe(
  g: Guestfs,
  blockBus: GuestCaps['blockBus'],
  netModel: GuestCaps['netModel'],
): Promise<void> {
  const files = [
    '/files/etc/conf.modules/alias',
    '/files/etc/modules.conf/alias',
    '/files/etc/modprobe.conf/alias',
    '/files/etc/modprobe.conf.local/alias',
    '/files/etc/modprobe.d/*/alias',
  ];
  const match = async (query: string) =>
    augValues(
      g,
      files.map((f) => `${f}[${query}]`),
    );
  for (const path of await match(". =~ regexp('eth[0-9]+')"))
    await g.augSet(`${path}/modulename`, netModel === 'virtio' ? 'virtio_net' : 'e1000');
  const adapters = await match(". =~ regexp('scsi_hostadapter.*')");
  if (blockBus === 'virtio') {
    if (adapters.length > 0) {
      for (const path of adapters.slice(1).reverse()) await g.augRm(path);
      await g.augSet(`${adapters[0]}/modulename`, 'virtio_blk');
    } else {
      const file = (await g.isDir('/etc/modprobe.d', { followsymlinks: true }))
        ? '/etc/modprobe.d/virt-v2v-added.conf'
        : '/etc/modprobe.conf';
      await g.augSet(`/files${file}/alias[last()+1]`, 'scsi_hostadapter');
      await g.augSet(`/files${file}/alias[last()]/modulename`, 'virtio_blk');
    }
  } else for (const path of adapters.reverse()) await g.augRm(path);
  await g.augSave();
}

async function relabelIfSelinux(g: Guestfs, decide: (text: string) => void): Promise<void> {
  if (!(await g.isFile('/etc/selinux/config', { followsymlinks: true }))) return;
  const mode = /^SELINUX=(\w+)/m.exec(await g.cat('/etc/selinux/config'))?.[1];
  if (mode === undefined || mode === 'disabled') return;
  await g.touch('/.autorelabel');
  decide(`SELinux (${mode}): the filesystem will be relabelled at first boot`);
}

const WAIT_ONLINE = `#!/bin/sh
if conn=$(nmcli networking connectivity); then
  tries=0
  while
    test $tries -lt 30 &&
    test full != "$conn"
  do
    sleep 1
    tries=$((tries + 1))
    conn=$(nmcli networking connectivity)
  done
elif systemctl -q is-active systemd-networkd; then
  /usr/lib/systemd/systemd-networkd-wait-online \\
    -q --timeout=30
fi
`;

const SELINUX_FLAG = '/root/virt-v2v-fb-selinux-enforcing';
const SETENFORCE_0 = `#!/bin/sh
rm -f ${SELINUX_FLAG}
if command -v getenforce >/dev/null &&
  test Enforcing = "$(getenforce)"
then
  touch ${SELINUX_FLAG}
  setenforce 0
fi
`;
const SETENFORCE_RESTORE = `#!/bin/sh
if test -f ${SELINUX_FLAG}; then
  setenforce 1
  rm -f ${SELINUX_FLAG}
fi
`;
