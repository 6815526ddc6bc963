/**
 * Inspection as one typed object: the daemon's inspect_os and inspect_get_* getters, plus what
 * libguestfs does on the library side (the osinfo short id, installed applications read from
 * the package database), in the shape virt-inspector reports.
 */
import { GuestfsError } from './errors.js';
import { type Guestfs, sortBytewise } from './guestfs.js';

export interface InspectedFilesystem {
  readonly device: string;
  /** vfs_type, e.g. 'ext4', 'swap'; null when it cannot be read. */
  readonly type: string | null;
  readonly label: string | null;
  readonly uuid: string | null;
}

/** One installed package (libguestfs application2). */
export interface Application {
  readonly name: string;
  readonly displayName: string;
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  readonly publisher: string;
  readonly url: string;
  readonly source: string;
  readonly summary: string;
  readonly description: string;
}

export interface InspectedOs {
  /** The root filesystem's device, e.g. '/dev/sda1' or '/dev/debian-vg/root'. */
  readonly root: string;
  /** 'linux', 'windows', 'freebsd'... */
  readonly type: string;
  readonly distro: string;
  readonly productName: string;
  readonly productVariant: string;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly arch: string;
  readonly hostname: string;
  readonly packageFormat: string;
  readonly packageManagement: string;
  /** libosinfo's short id, e.g. 'debian12' ('unknown' when there is none). */
  readonly osinfo: string;
  /** Mount points and what is mounted there, shortest mount point first. */
  readonly mountpoints: readonly { readonly mountpoint: string; readonly device: string }[];
  readonly filesystems: readonly InspectedFilesystem[];
  /** Installed packages, sorted by name (empty when not asked for or not readable). */
  readonly applications: readonly Application[];
  /** The distribution's logo as PNG (Debian and Ubuntu only), or null. */
  readonly icon: Buffer | null;
}

/**
 * Inspects the disks of a launched handle: every operating system found, with its
 * filesystems and (unless `applications: false`) its installed packages. Leaves nothing
 * mounted. An empty list means no operating system was found.
 */
export async function inspect(
  g: Guestfs,
  options: { applications?: boolean; icon?: boolean } = {},
): Promise<InspectedOs[]> {
  const roots = await g.inspectOs();
  const result: InspectedOs[] = [];
  for (const root of roots.sort()) {
    const [type, distro, productName, productVariant, majorVersion, minorVersion, arch] =
      await Promise.all([
        g.inspectGetType(root),
        g.inspectGetDistro(root),
        g.inspectGetProductName(root),
        g.inspectGetProductVariant(root),
        g.inspectGetMajorVersion(root),
        g.inspectGetMinorVersion(root),
        g.inspectGetArch(root),
      ]);
    const [hostname, packageFormat, packageManagement, mountpointMap, devices] = await Promise.all([
      g.inspectGetHostname(root),
      g.inspectGetPackageFormat(root),
      g.inspectGetPackageManagement(root),
      g.inspectGetMountpoints(root),
      g.inspectGetFilesystems(root),
    ]);
    const mountpoints = Object.entries(mountpointMap)
      .map(([mountpoint, device]) => ({ mountpoint, device }))
      .sort(
        (a, b) =>
          a.mountpoint.length - b.mountpoint.length || (a.mountpoint < b.mountpoint ? -1 : 1),
      );
    const filesystems: InspectedFilesystem[] = [];
    // Sorted by device name, as virt-inspector lists them.
    for (const device of sortBytewise(devices)) filesystems.push(await filesystem(g, device));
    const { applications, icon } = await withMounted(g, mountpoints, async () => ({
      applications: options.applications === false ? [] : await listApplications(g, packageFormat),
      icon: options.icon === false ? null : await findIcon(g, distro),
    }));
    result.push({
      root,
      type,
      distro,
      productName,
      productVariant,
      majorVersion,
      minorVersion,
      arch,
      hostname,
      packageFormat,
      packageManagement,
      osinfo: osinfo(type, distro, majorVersion, minorVersion),
      mountpoints,
      filesystems,
      applications,
      icon,
    });
  }
  return result;
}

async function filesystem(g: Guestfs, device: string): Promise<InspectedFilesystem> {
  const orNull = async (read: () => Promise<string>): Promise<string | null> => {
    try {
      const value = await read();
      return value === '' ? null : value;
    } catch (e) {
      if (e instanceof GuestfsError) return null;
      throw e;
    }
  };
  return {
    device,
    type: await orNull(() => g.vfsType(device)),
    label: await orNull(() => g.vfsLabel(device)),
    uuid: await orNull(() => g.vfsUuid(device)),
  };
}

/**
 * Mounts an inspected OS's filesystems read-only (shortest mount point first, as
 * virt-inspector does; ones that fail are skipped), runs `work`, unmounts everything.
 */
export async function withMounted<T>(
  g: Guestfs,
  mountpoints: readonly { mountpoint: string; device: string }[],
  work: () => Promise<T>,
): Promise<T> {
  for (const { mountpoint, device } of mountpoints) {
    try {
      await g.mountRo(device, mountpoint);
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
    }
  }
  try {
    return await work();
  } finally {
    await g.umountAll();
  }
}

/** Installed applications from the package database (dpkg only; others give an empty list). */
async function listApplications(g: Guestfs, packageFormat: string): Promise<Application[]> {
  if (packageFormat !== 'deb') return [];
  let status: string;
  try {
    status = (await g.readFile('/var/lib/dpkg/status', { maxBytes: 500 * 1024 * 1024 })).toString(
      'utf8',
    );
  } catch (e) {
    if (e instanceof GuestfsError) return [];
    throw e;
  }
  return parseDpkgStatus(status);
}

/**
 * Parses /var/lib/dpkg/status as libguestfs does (lib/inspect-apps.c): installed packages
 * (Status mentions "installed"), epoch:version-release split, Description's first line as
 * summary and its continuation lines as description. Sorted by name.
 */
export function parseDpkgStatus(text: string): Application[] {
  const apps: Application[] = [];
  for (const stanza of text.split(/\n\n+/)) {
    const fields = new Map<string, string>();
    /** Continuation lines of the Description field, while it is the field being read. */
    let description: string[] | null = null;
    let longDescription: string[] = [];
    for (const line of stanza.split('\n')) {
      if (line.startsWith(' ')) {
        description?.push(line.slice(1));
        continue;
      }
      const colon = line.indexOf(': ');
      if (colon < 0) continue;
      const key = line.slice(0, colon);
      fields.set(key, line.slice(colon + 2));
      description = key === 'Description' ? (longDescription = []) : null;
    }
    const name = fields.get('Package');
    const fullVersion = fields.get('Version');
    const installed = (fields.get('Status') ?? '').includes('installed');
    if (name === undefined || fullVersion === undefined || !installed) continue;
    const colon = fullVersion.indexOf(':');
    const epochText = colon >= 0 ? fullVersion.slice(0, colon) : '0';
    if (!/^\d+$/.test(epochText)) continue;
    const rest = colon >= 0 ? fullVersion.slice(colon + 1) : fullVersion;
    const dash = rest.indexOf('-');
    apps.push({
      name,
      displayName: '',
      epoch: Number(epochText),
      version: dash >= 0 ? rest.slice(0, dash) : rest,
      release: dash >= 0 ? rest.slice(dash + 1) : '',
      arch: fields.get('Architecture') ?? '',
      publisher: '',
      url: fields.get('Homepage') ?? '',
      source: (fields.get('Source') ?? '').split(' ')[0] ?? '',
      summary: fields.get('Description') ?? '',
      description: longDescription.join('\n'),
    });
  }
  return apps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const ICONS: Readonly<Record<string, readonly string[]>> = {
  debian: ['/usr/share/pixmaps/debian-logo.png'],
  ubuntu: [
    '/usr/share/icons/gnome/24x24/places/ubuntu-logo.png',
    '/usr/share/help/C/ubuntu-help/figures/ubuntu-logo.png',
  ],
};

/**
 * The distribution's logo, found and checked as libguestfs's inspect_get_icon does: a PNG
 * (by `file`) of 16 to 1024 pixels a side, at most 4 bytes per pixel.
 */
async function findIcon(g: Guestfs, distro: string): Promise<Buffer | null> {
  for (const path of ICONS[distro] ?? []) {
    try {
      if (!(await g.isFile(path, { followsymlinks: true }))) continue;
      const real = await g.realpath(path);
      const size = /^PNG image data, (\d+) x (\d+)/.exec(await g.file(real));
      if (size === null) continue;
      const [w, h] = [Number(size[1]), Number(size[2])];
      if (w < 16 || h < 16 || w > 1024 || h > 1024) continue;
      return await g.readFile(real, { maxBytes: 4 * w * h });
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
    }
  }
  return null;
}

/** libosinfo's short id for an inspected OS, as libguestfs's inspect_get_osinfo (not Windows). */
export function osinfo(type: string, distro: string, major: number, minor: number): string {
  if (type === 'linux') {
    switch (distro) {
      case 'centos':
        if (major >= 8) return `centos${major}`;
        if (major === 7) return 'centos7.0';
        if (major === 6) return `centos6.${minor}`;
        break;
      case 'rocky':
        if (major >= 8) return `rocky${major}`;
        break;
      case 'debian':
        if (major >= 4) return `debian${major}`;
        break;
      case 'fedora':
      case 'mageia':
        return `${distro}${major}`;
      case 'sles':
        return minor === 0 ? `sles${major}` : `sles${major}sp${minor}`;
      case 'ubuntu':
        return `ubuntu${major}.${String(minor).padStart(2, '0')}`;
      case 'archlinux':
      case 'gentoo':
      case 'voidlinux':
        return distro;
      case 'altlinux':
        return major >= 8 ? `alt${major}.${minor}` : `altlinux${major}.${minor}`;
    }
    if (distro !== 'unknown' && (major > 0 || minor > 0)) return `${distro}${major}.${minor}`;
  } else if (type === 'freebsd' || type === 'netbsd' || type === 'openbsd') {
    return `${distro}${major}.${minor}`;
  } else if (type === 'dos' && distro === 'msdos') {
    return 'msdos6.22';
  }
  return 'unknown';
}
