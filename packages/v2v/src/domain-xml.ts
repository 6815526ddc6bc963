/**
 * The target's libvirt domain XML, in the shape virt-v2v's create_libvirt_xml.ml writes it:
 * the source's memory and vCPUs, the machine the guest needs (q35 or pc), its disks on
 * virtio-blk (or IDE/SATA when the guest has no virtio), its NICs on virtio (or e1000), the
 * paravirtual devices its kernel can drive, a console and the guest agent's channel.
 */
import type { GuestCaps } from './convert/guestcaps.js';
import { driveName } from './convert/linux.js';
import type { InspectedOs } from '@tsvirt/guestfs';
import type { Firmware, SourceNic } from './source.js';
import { type XmlNode, buildXml } from './xml.js';

export type TargetDisk =
  | { readonly kind: 'file'; readonly path: string; readonly format: string }
  | {
      readonly kind: 'volume';
      readonly pool: string;
      readonly volume: string;
      readonly format: string;
    };

/** Where the NICs go on the target: as the source said, or all to one network/bridge/user. */
export type NetworkMapping =
  | { readonly kind: 'source' }
  | { readonly kind: 'network' | 'bridge'; readonly name: string }
  | { readonly kind: 'user' };

export interface DomainXmlInput {
  readonly name: string;
  readonly memoryBytes: number;
  readonly vcpus: number;
  readonly firmware: Firmware;
  readonly guestcaps: GuestCaps;
  readonly os: Pick<InspectedOs, 'type' | 'distro' | 'majorVersion' | 'minorVersion'>;
  readonly disks: readonly TargetDisk[];
  readonly nics: readonly SourceNic[];
  readonly network: NetworkMapping;
  /** 'kvm' (virt-v2v always writes it) or 'qemu' (software emulation). */
  readonly domainType: 'kvm' | 'qemu';
  readonly graphics: 'sdl' | 'vnc';
  /** Log the serial console to this file on the host (mclu's guests do). */
  readonly serialLog?: string | undefined;
  readonly generator: string;
}

/** libosinfo's id for the guest, as virt-v2v's get_osinfo_id (the Linux part). */
export function osinfoId(os: DomainXmlInput['os']): string | null {
  if (os.type !== 'linux') return null;
  switch (os.distro) {
    case 'debian':
      return `http://debian.org/debian/${os.majorVersion}`;
    case 'ubuntu':
      return `http://ubuntu.com/ubuntu/${os.majorVersion}.${String(os.minorVersion).padStart(2, '0')}`;
    case 'fedora':
      return `http://fedoraproject.org/fedora/${os.majorVersion}`;
    case 'rhel':
      return `http://redhat.com/rhel/${os.majorVersion}.${os.minorVersion}`;
    default:
      return null;
  }
}

/** Debian's OVMF firmware for UEFI guests (package ovmf). */
const OVMF = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' };

function interfaceOf(nic: SourceNic, mapping: NetworkMapping, model: string): XmlNode {
  const mac = nic.mac === null ? {} : { mac: { '@_address': nic.mac } };
  if (mapping.kind === 'user') return { '@_type': 'user', ...mac, model: { '@_type': model } };
  const type = mapping.kind === 'source' ? nic.type : mapping.kind;
  const name = mapping.kind === 'source' ? nic.network : mapping.name;
  return { '@_type': type, ...mac, source: { [`@_${type}`]: name }, model: { '@_type': model } };
}

export function domainXml(input: DomainXmlInput): string {
  const caps = input.guestcaps;
  const memoryKiB = Math.floor(input.memoryBytes / 1024);
  const osinfo = osinfoId(input.os);
  const diskBus = caps.blockBus === 'virtio' ? 'virtio' : caps.machine === 'q35' ? 'sata' : 'ide';
  const prefix = caps.blockBus === 'virtio' ? 'vd' : caps.machine === 'q35' ? 'sd' : 'hd';
  const disks = input.disks.map((d, i) => ({
    '@_type': d.kind,
    '@_device': 'disk',
    driver: { '@_name': 'qemu', '@_type': d.format },
    source: d.kind === 'file' ? { '@_file': d.path } : { '@_pool': d.pool, '@_volume': d.volume },
    target: { '@_dev': prefix + driveName(i), '@_bus': diskBus },
  }));
  const devices: XmlNode = {
    disk: disks,
    interface: input.nics.map((n) => interfaceOf(n, input.network, caps.netModel)),
    video: { model: { '@_type': 'vga', '@_vram': '16384', '@_heads': '1' } },
    graphics:
      input.graphics === 'sdl' ? { '@_type': 'sdl' } : { '@_type': 'vnc', '@_autoport': 'yes' },
    ...(caps.virtioRng
      ? { rng: { '@_model': 'virtio', backend: { '@_model': 'random', '#text': '/dev/urandom' } } }
      : {}),
    memballoon: { '@_model': caps.virtioBalloon ? 'virtio' : 'none' },
    ...(caps.isaPvpanic
      ? { panic: { '@_model': 'isa', address: { '@_type': 'isa', '@_iobase': '0x505' } } }
      : {}),
    ...(caps.virtioSocket ? { vsock: { '@_model': 'virtio' } } : {}),
    input: [
      { '@_type': 'tablet', '@_bus': 'usb' },
      { '@_type': 'mouse', '@_bus': 'ps2' },
    ],
    ...(input.serialLog === undefined
      ? { console: { '@_type': 'pty' } }
      : {
          serial: { '@_type': 'pty', log: { '@_file': input.serialLog, '@_append': 'on' } },
          console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': '0' } },
        }),
    controller: { '@_type': 'virtio-serial', '@_model': 'virtio' },
    channel: {
      '@_type': 'unix',
      target: { '@_type': 'virtio', '@_name': 'org.qemu.guest_agent.0' },
    },
  };
  const domain: XmlNode = {
    '@_type': input.domainType,
    '#comment': ` generated by ${input.generator} `,
    name: input.name,
    ...(osinfo === null
      ? {}
      : {
          metadata: {
            'libosinfo:libosinfo': {
              '@_xmlns:libosinfo': 'http://libosinfo.org/xmlns/libvirt/domain/1.0',
              'libosinfo:os': { '@_id': osinfo },
            },
          },
        }),
    memory: { '@_unit': 'KiB', '#text': String(memoryKiB) },
    currentMemory: { '@_unit': 'KiB', '#text': String(memoryKiB) },
    vcpu: String(input.vcpus),
    features: { ...(caps.acpi ? { acpi: '' } : {}), apic: '' },
    os: {
      type: { '@_arch': caps.arch, '@_machine': caps.machine, '#text': 'hvm' },
      ...(input.firmware === 'uefi'
        ? {
            loader: { '@_readonly': 'yes', '@_type': 'pflash', '#text': OVMF.code },
            nvram: { '@_template': OVMF.vars },
          }
        : {}),
    },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'restart',
    devices,
  };
  return `<?xml version='1.0' encoding='utf-8'?>\n${buildXml('domain', domain)}`;
}
