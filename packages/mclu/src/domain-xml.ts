// Domain XML: generating it for new guests, and reading back the few things mclu reports
// (disks, interfaces, consoles). libvirt writes its XML itself, regularly formed, so a small
// element scanner is enough; the generator escapes every value it inserts.
import type { DomainType } from './config.js';

export interface NewDomain {
  name: string;
  domainType: DomainType;
  memoryBytes: bigint;
  vcpus: number;
  disk: { path: string; format: string; bus: string };
  /** 'user' for user-mode networking, else a libvirt network's name. */
  network: string;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`,
  );
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|amp|apos|quot);/g,
    (_, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] ?? '',
  );
}

/** The XML of a new guest: disk, one network interface, a serial console logged on the node. */
export function domainXml(d: NewDomain): string {
  const e = escapeXml;
  const kib = d.memoryBytes / 1024n;
  const target = d.disk.bus === 'virtio' ? 'vda' : d.disk.bus === 'ide' ? 'hda' : 'sda';
  const iface =
    d.network === 'user'
      ? `    <interface type='user'>\n      <model type='virtio'/>\n    </interface>`
      : `    <interface type='network'>\n      <source network='${e(d.network)}'/>\n      <model type='virtio'/>\n    </interface>`;
  return `<domain type='${e(d.domainType)}'>
  <name>${e(d.name)}</name>
  <memory unit='KiB'>${kib}</memory>
  <currentMemory unit='KiB'>${kib}</currentMemory>
  <vcpu>${d.vcpus}</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='${e(d.disk.format)}'/>
      <source file='${e(d.disk.path)}'/>
      <target dev='${target}' bus='${e(d.disk.bus)}'/>
    </disk>
${iface}
    <serial type='pty'>
      <log file='/var/log/libvirt/qemu/${e(d.name)}-serial.log' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
`;
}

interface Element {
  attrs: Record<string, string>;
  body: string;
}

/** Top-level occurrences of <tag ...>...</tag> or <tag .../> in `xml` (not nested ones). */
function elements(xml: string, tag: string): Element[] {
  const found: Element[] = [];
  const open = new RegExp(`<${tag}(\\s[^>]*?)?(/?)>`, 'g');
  let match: RegExpExecArray | null;
  while ((match = open.exec(xml)) !== null) {
    const attrs = attributes(match[1] ?? '');
    if (match[2] === '/') {
      found.push({ attrs, body: '' });
      continue;
    }
    const close = xml.indexOf(`</${tag}>`, open.lastIndex);
    const end = close === -1 ? xml.length : close;
    found.push({ attrs, body: xml.slice(open.lastIndex, end) });
    open.lastIndex = end;
  }
  return found;
}

function attributes(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of text.matchAll(/([\w:-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)) {
    attrs[m[1] ?? ''] = unescapeXml(m[2] ?? m[3] ?? '');
  }
  return attrs;
}

function first(xml: string, tag: string): Element | undefined {
  return elements(xml, tag)[0];
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
  disks: DiskDevice[];
  interfaces: InterfaceDevice[];
  consoles: string[];
  graphics: { type: string; port: string | null; listen: string | null }[];
}

/** What `info`, `delete` and `migrate` need from a domain's XML. */
export function parseDomainXml(xml: string): ParsedDomain {
  const devices = first(xml, 'devices')?.body ?? '';
  const disks = elements(devices, 'disk').map((disk): DiskDevice => {
    const source = first(disk.body, 'source')?.attrs ?? {};
    const target = first(disk.body, 'target')?.attrs ?? {};
    const driver = first(disk.body, 'driver')?.attrs ?? {};
    const volume =
      source['pool'] !== undefined && source['volume'] !== undefined
        ? { pool: source['pool'], name: source['volume'] }
        : null;
    return {
      device: disk.attrs['device'] ?? 'disk',
      source:
        source['file'] ??
        source['dev'] ??
        source['name'] ??
        (volume ? `${volume.pool}/${volume.name}` : null),
      volume,
      target: target['dev'] ?? '',
      bus: target['bus'] ?? '',
      format: driver['type'] ?? null,
    };
  });
  const interfaces = elements(devices, 'interface').map((iface): InterfaceDevice => {
    const source = first(iface.body, 'source')?.attrs ?? {};
    return {
      type: iface.attrs['type'] ?? '',
      mac: first(iface.body, 'mac')?.attrs['address'] ?? null,
      source: source['network'] ?? source['bridge'] ?? source['dev'] ?? null,
      model: first(iface.body, 'model')?.attrs['type'] ?? null,
    };
  });
  // A <console> of a serial port is the same device again: report the serials, and
  // consoles only when there is no serial port.
  const serials = elements(devices, 'serial');
  const consoles = (serials.length > 0 ? serials : elements(devices, 'console')).map((c) => {
    const source = first(c.body, 'source')?.attrs['path'];
    const log = first(c.body, 'log')?.attrs['file'];
    return `${c.attrs['type'] ?? '?'}${source ? ` ${source}` : ''}${log ? ` (log ${log})` : ''}`;
  });
  const graphics = elements(devices, 'graphics').map((g) => ({
    type: g.attrs['type'] ?? '',
    port: g.attrs['port'] ?? null,
    listen: g.attrs['listen'] ?? null,
  }));
  return { disks, interfaces, consoles, graphics };
}
