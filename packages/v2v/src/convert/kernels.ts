/**
 * The guest's installed kernels: for each /boot/vmlinuz-VERSION with a module directory, its
 * modules (and their dependencies, from modules.dep), its config, its initramfs, and what it
 * can drive (virtio-blk, virtio-net...). As virt-v2v's linux_kernels.ml, but found from the
 * files rather than the package database, which works the same for every distribution.
 */
import type { Guestfs } from '@tsvirt/guestfs';
import { GuestfsError } from '@tsvirt/guestfs';

export interface Kernel {
  readonly version: string;
  readonly vmlinuz: string;
  readonly modpath: string;
  /** Module names (file names without .ko/.ko.xz/.ko.zst), '-' as in the file name. */
  readonly modules: ReadonlySet<string>;
  /** null when /boot has no initramfs for this kernel. */
  readonly initrd: string | null;
  readonly supportsVirtioBlk: boolean;
  readonly supportsVirtioNet: boolean;
  readonly supportsVirtioRng: boolean;
  readonly supportsVirtioBalloon: boolean;
  readonly supportsIsaPvpanic: boolean;
  readonly supportsVirtioSocket: boolean;
  readonly isDebug: boolean;
  /** Module name -> the modules it needs (modules.dep), names normalised to '_'. */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
}

const KO = /\/([^/]+)\.k?o(?:\.(?:xz|zst|gz))?$/;
const SAVE_FILE = /\.(dpkg-old|dpkg-new|rpmsave|rpmnew)$/;

/** The module name of a path such as kernel/drivers/block/virtio_blk.ko.xz, or null. */
export function moduleName(path: string): string | null {
  return KO.exec(`/${path}`)?.[1] ?? null;
}

/** Module names as the kernel compares them ('-' and '_' are the same). */
export function normaliseModule(name: string): string {
  return name.replace(/-/g, '_');
}

export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = moduleName(line.slice(0, colon));
    if (name === null) continue;
    const needs = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .flatMap((p) => {
        const n = p === '' ? null : moduleName(p);
        return n === null ? [] : [normaliseModule(n)];
      });
    deps.set(normaliseModule(name), needs);
  }
  return deps;
}

/** `names` and every module they need, transitively; built-in (absent) names are dropped. */
export function moduleClosure(kernel: Kernel, names: readonly string[]): string[] {
  const result = new Set<string>();
  const visit = (name: string): void => {
    const n = normaliseModule(name);
    if (result.has(n) || !kernel.dependencies.has(n)) return;
    result.add(n);
    for (const dep of kernel.dependencies.get(n)!) visit(dep);
  };
  for (const name of names) visit(name);
  return [...result].sort();
}

/** Numeric-aware version order ("6.1.0-10" < "6.1.0-9" is wrong; this gets it right). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function configOptions(g: Guestfs, path: string): Promise<Map<string, string>> {
  const options = new Map<string, string>();
  try {
    for (const line of (await g.cat(path)).split('\n')) {
      const m = /^CONFIG_([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) options.set(m[1]!, m[2]!);
    }
  } catch (e) {
    if (!(e instanceof GuestfsError)) throw e;
  }
  return options;
}

/** The initramfs in /boot for this version: the shortest matching name, as virt-v2v. */
function findInitrd(
  bootFiles: readonly string[],
  version: string,
  debianNaming: boolean,
): string | null {
  const pattern = debianNaming ? /^initrd\.img-.*$/ : /^initr(?:d|amfs)-.*(?:\.img)?$/;
  const matches = bootFiles
    .filter((n) => pattern.test(n) && n.includes(version) && !n.includes('kdump'))
    .filter((n) => !SAVE_FILE.test(n) && !n.endsWith('.pre-v2v'))
    .sort((a, b) => a.length - b.length);
  return matches[0] === undefined ? null : `/boot/${matches[0]}`;
}

export async function detectKernels(g: Guestfs, debianNaming: boolean): Promise<Kernel[]> {
  const bootFiles = await g.ls('/boot');
  const kernels: Kernel[] = [];
  for (const vmlinuz of await g.globExpand('/boot/vmlinuz-*')) {
    if (SAVE_FILE.test(vmlinuz)) continue;
    const version = vmlinuz.slice('/boot/vmlinuz-'.length);
    const modpath = `/lib/modules/${version}`;
    if (!(await g.isDir(modpath, { followsymlinks: true }))) continue;
    const files = await g.find(modpath);
    const modules = new Set(files.flatMap((f) => moduleName(f) ?? []));
    if (modules.size === 0) continue;
    let dependencies = new Map<string, string[]>();
    try {
      dependencies = parseModulesDep(await g.cat(`${modpath}/modules.dep`));
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
    }
    const config = await configOptions(g, `/boot/config-${version}`);
    const supports = (module: string, option: string): boolean =>
      modules.has(module) || ['y', 'm'].includes(config.get(option) ?? '');
    kernels.push({
      version,
      vmlinuz,
      modpath,
      modules,
      initrd: findInitrd(bootFiles, version, debianNaming),
      supportsVirtioBlk: supports('virtio_blk', 'VIRTIO_BLK'),
      supportsVirtioNet: supports('virtio_net', 'VIRTIO_NET'),
      supportsVirtioRng: supports('virtio-rng', 'HW_RANDOM_VIRTIO'),
      supportsVirtioBalloon: supports('virtio_balloon', 'VIRTIO_BALLOON'),
      supportsIsaPvpanic: supports('pvpanic', 'PVPANIC'),
      supportsVirtioSocket: supports('vmw_vsock_virtio_transport', 'VIRTIO_VSOCKETS'),
      isDebug: /-(debug|dbg)$/.test(version),
      dependencies,
    });
  }
  return kernels;
}

/** The kernel to boot: virtio-capable first, then the newest, then non-debug (virt-v2v's order). */
export function bestKernel(kernels: readonly Kernel[]): Kernel | null {
  return (
    [...kernels].sort(
      (a, b) =>
        Number(b.supportsVirtioNet) - Number(a.supportsVirtioNet) ||
        Number(b.supportsVirtioBlk) - Number(a.supportsVirtioBlk) ||
        compareVersions(b.version, a.version) ||
        Number(a.isDebug) - Number(b.isDebug),
    )[0] ?? null
  );
}
