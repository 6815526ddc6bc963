// Domain XML: writing it for new guests, reading back what mclu reports and needs (disks,
// interfaces, consoles, graphics), and rewriting disk paths for an offline move. All of it
// through the XML library (xml.ts), so any well-formed XML libvirt writes is read right.
import type { DomainType } from './config.js';
import {
  attribute,
  buildXml,
  child,
  children,
  parseXml,
  setAttribute,
  text,
  type XmlElement,
} from './xml.js';

export interface NewDomain {
  name: string;
  /** Chosen by mclu, so that what it defined can be told apart from a namesake. */
  uuid: string;
  domainType: DomainType;
  /** The guest architecture, from the node's capabilities. */
  arch: string;
  memoryBytes: bigint;
  vcpus: number;
  disk: { path: string; format: string; bus: string };
  /** 'user' for user-mode networking, else a libvirt network's name. */
  network: string;
}

/** Where libvirt logs a guest's serial console on the node. */
export function serialLogPath(name: string): string {
  return `/var/log/libvirt/qemu/${name}-serial.log`;
}

const DISK_TARGETS: Record<string, string> = { virtio: 'vda', ide: 'hda' };

/** The XML of a new guest: disk, one network interface, a serial console logged on the node. */
export function domainXml(d: NewDomain): string {
  const kib = String(d.memoryBytes / 1024n);
  const iface =
    d.network === 'user'
      ? { '@_type': 'user', model: { '@_type': 'virtio' } }
      : { '@_type': 'network', source: { '@_network': d.network }, model: { '@_type': 'virtio' } };
  return buildXml('domain', {
    '@_type': d.domainType,
    name: d.name,
    uuid: d.uuid,
    memory: { '@_unit': 'KiB', '#text': kib },
    currentMemory: { '@_unit': 'KiB', '#text': kib },
    vcpu: String(d.vcpus),
    os: { type: { '@_arch': d.arch, '#text': 'hvm' }, boot: { '@_dev': 'hd' } },
    features: { acpi: '' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      disk: {
        '@_type': 'file',
        '@_device': 'disk',
        driver: { '@_name': 'qemu', '@_type': d.disk.format },
        source: { '@_file': d.disk.path },
        target: { '@_dev': DISK_TARGETS[d.disk.bus] ?? 'sda', '@_bus': d.disk.bus },
      },
      interface: iface,
      serial: {
        '@_type': 'pty',
        log: { '@_file': serialLogPath(d.name), '@_append': 'on' },
        target: { '@_port': '0' },
      },
      console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': '0' } },
    },
  });
}

export interface DiskDevice {
  device: string;
  /** The file, block device or volume behind the disk; null for an empty drive. */
  source: string | null;
  /** pool/volume when the disk is given as a libvirt volume. */
  volume: { pool: string; name: string } | null;
  target: string;
  bus: string;
  format: string | null;
}

export interface InterfaceDevice {
  type: string;
  mac: string | null;
  source: string | null;
  model: string | null;
}

export interface ParsedDomain {
  uuid: string | null;
  disks: DiskDevice[];
  interfaces: InterfaceDevice[];
  consoles: string[];
  graphics: { type: string; port: string | null; listen: string | null }[];
}

function devicesOf(domain: XmlElement): XmlElement | undefined {
  return child(domain, 'devices');
}

function readDisk(disk: XmlElement): DiskDevice {
  const source = child(disk, 'source');
  const pool = attribute(source, 'pool');
  const volumeName = attribute(source, 'volume');
  const volume = pool !== null && volumeName !== null ? { pool, name: volumeName } : null;
  return {
    device: attribute(disk, 'device') ?? 'disk',
    source:
      attribute(source, 'file') ??
      attribute(source, 'dev') ??
      attribute(source, 'name') ??
      (volume ? `${volume.pool}/${volume.name}` : null),
    volume,
    target: attribute(child(disk, 'target'), 'dev') ?? '',
    bus: attribute(child(disk, 'target'), 'bus') ?? '',
    format: attribute(child(disk, 'driver'), 'type'),
  };
}

/** What `info`, `delete` and `migrate` need from a domain's XML. */
export function parseDomainXml(xml: string): ParsedDomain {
  const domain = parseXml(xml, 'domain');
  const devices = devicesOf(domain);
  const interfaces = children(devices, 'interface').map((iface): InterfaceDevice => {
    const source = child(iface, 'source');
    return {
      type: attribute(iface, 'type') ?? '',
      mac: attribute(child(iface, 'mac'), 'address'),
      source:
        attribute(source, 'network') ?? attribute(source, 'bridge') ?? attribute(source, 'dev'),
      model: attribute(child(iface, 'model'), 'type'),
    };
  });
  // A <console> of a serial port is the same device again: report the serials, and
  // consoles only when there is no serial port.
  const serials = children(devices, 'serial');
  const consoles = (serials.length > 0 ? serials : children(devices, 'console')).map((c) => {
    const source = attribute(child(c, 'source'), 'path');
    const log = attribute(child(c, 'log'), 'file');
    return `${attribute(c, 'type') ?? '?'}${source ? ` ${source}` : ''}${log ? ` (log ${log})` : ''}`;
  });
  const graphics = children(devices, 'graphics').map((g) => ({
    type: attribute(g, 'type') ?? '',
    port: attribute(g, 'port'),
    listen: attribute(g, 'listen'),
  }));
  return {
    uuid: text(child(domain, 'uuid')),
    disks: children(devices, 'disk').map(readDisk),
    interfaces,
    consoles,
    graphics,
  };
}

/** The same domain XML with the file disks at `moves`' keys pointing at their values. */
export function withDiskPaths(xml: string, moves: ReadonlyMap<string, string>): string {
  const domain = parseXml(xml, 'domain');
  for (const disk of children(devicesOf(domain), 'disk')) {
    const source = child(disk, 'source');
    const file = attribute(source, 'file');
    const moved = file === null ? undefined : moves.get(file);
    if (source !== undefined && moved !== undefined) setAttribute(source, 'file', moved);
  }
  return buildXml('domain', domain);
}
