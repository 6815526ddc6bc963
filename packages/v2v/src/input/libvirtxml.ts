/**
 * `-i libvirtxml FILE` and the metadata of `-i libvirt`: a libvirt domain's XML read into the
 * source record. Disks are the `<disk device='disk'>` elements, in order, with their file (or
 * pool volume, resolved by the caller), format and bus; CD-ROMs and floppies are left out.
 */
import { V2vError } from '../errors.js';
import type { SourceController, SourceGuest, SourceNic } from '../source.js';
import { type XmlElement, attr, child, children, parseXml, text } from '../xml.js';

/** A disk as the XML names it, before its bytes are located. */
export interface DomainDisk {
  /** `<source file=...>` or `<source dev=...>`, or a pool volume. */
  readonly source:
    | { kind: 'path'; path: string }
    | { kind: 'volume'; pool: string; volume: string }
    | { kind: 'network'; description: string };
  readonly format: string;
  readonly controller: SourceController | null;
  readonly target: string;
}

export interface ParsedDomain {
  readonly name: string;
  readonly memoryBytes: number;
  readonly vcpus: number;
  readonly firmware: SourceGuest['firmware'];
  readonly disks: readonly DomainDisk[];
  readonly nics: readonly SourceNic[];
}

const UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  kb: 1000,
  k: 1024,
  kib: 1024,
  mb: 1000 ** 2,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1000 ** 4,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

function memoryOf(element: XmlElement | undefined, where: string): number {
  const value = Number(text(element));
  const unit = UNITS[(attr(element, 'unit') ?? 'KiB').toLowerCase()];
  if (!Number.isFinite(value) || value <= 0 || unit === undefined)
    throw new V2vError('INPUT', `${where}: no usable <memory> in the domain XML`);
  return value * unit;
}

function controllerOf(bus: string | undefined): SourceController | null {
  switch (bus) {
    case 'ide':
    case 'sata':
    case 'scsi':
    case 'virtio':
      return bus;
    case undefined:
    default:
      return null;
  }
}

export function parseDomainXml(xml: string, where: string): ParsedDomain {
  let domain: XmlElement | null;
  try {
    domain = parseXml(xml, 'domain');
  } catch (e) {
    throw new V2vError('INPUT', `${where}: not XML: ${(e as Error).message}`);
  }
  if (domain === null) throw new V2vError('INPUT', `${where}: not a libvirt <domain> document`);
  const name = text(child(domain, 'name'));
  if (!name) throw new V2vError('INPUT', `${where}: the domain has no <name>`);
  const os = child(domain, 'os');
  const efi =
    attr(os, 'firmware') === 'efi' ||
    children(os, 'loader').some((l) => attr(l, 'type') === 'pflash');
  const devices = child(domain, 'devices');
  const disks: DomainDisk[] = [];
  for (const disk of children(devices, 'disk')) {
    if ((attr(disk, 'device') ?? 'disk') !== 'disk') continue;
    const src = child(disk, 'source');
    const type = attr(disk, 'type') ?? 'file';
    const target = attr(child(disk, 'target'), 'dev') ?? `disk${disks.length}`;
    let source: DomainDisk['source'];
    if (type === 'volume' && attr(src, 'pool') && attr(src, 'volume'))
      source = { kind: 'volume', pool: attr(src, 'pool')!, volume: attr(src, 'volume')! };
    else if (attr(src, 'file') ?? attr(src, 'dev'))
      source = { kind: 'path', path: (attr(src, 'file') ?? attr(src, 'dev'))! };
    else
      source = {
        kind: 'network',
        description: `${attr(src, 'protocol') ?? type} ${attr(src, 'name') ?? ''}`.trim(),
      };
    disks.push({
      source,
      format: attr(child(disk, 'driver'), 'type') ?? 'raw',
      controller: controllerOf(attr(child(disk, 'target'), 'bus')),
      target,
    });
  }
  const nics: SourceNic[] = children(devices, 'interface').flatMap((nic): SourceNic[] => {
    const type = attr(nic, 'type');
    const src = child(nic, 'source');
    const mac = attr(child(nic, 'mac'), 'address') ?? null;
    if (type === 'bridge') return [{ mac, network: attr(src, 'bridge') ?? 'br0', type: 'bridge' }];
    if (type === 'network')
      return [{ mac, network: attr(src, 'network') ?? 'default', type: 'network' }];
    // user, direct...: no network of the source to map; the target's default.
    return [{ mac, network: 'default', type: 'network' }];
  });
  return {
    name,
    memoryBytes: memoryOf(child(domain, 'memory'), where),
    vcpus: Math.max(1, Number(text(child(domain, 'vcpu')) ?? '1') || 1),
    firmware: efi ? 'uefi' : os === undefined ? null : 'bios',
    disks,
    nics,
  };
}

/** `-i libvirtxml FILE`: the disks must be local files. */
export function libvirtXmlSource(xml: string, where: string): SourceGuest {
  const domain = parseDomainXml(xml, where);
  if (domain.disks.length === 0) throw new V2vError('INPUT', `${where}: the domain has no disks`);
  return {
    name: domain.name,
    hypervisor: 'libvirtxml',
    memoryBytes: domain.memoryBytes,
    vcpus: domain.vcpus,
    firmware: domain.firmware,
    nics: domain.nics,
    disks: domain.disks.map((d) => {
      if (d.source.kind !== 'path')
        throw new V2vError(
          'INPUT',
          `${where}: disk ${d.target} is ${d.source.kind === 'volume' ? `the pool volume ${d.source.pool}/${d.source.volume}` : `a network disk (${d.source.description})`}: -i libvirtxml reads local files only; use -i libvirt -ic URI for pool volumes`,
        );
      return { location: { path: d.source.path, format: d.format }, controller: d.controller };
    }),
  };
}
