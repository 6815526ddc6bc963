/**
 * OVF metadata (DMTF DSP0243, as VMware and VirtualBox write it): the virtual hardware of the
 * guest and its disks. Disks are the VirtualHardwareSection's items of ResourceType 17, in
 * order; each names a disk of the DiskSection (`ovf:/disk/ID`), which names a file of the
 * References. A reference that leads nowhere is an error naming it, raised before anything
 * else happens.
 */
import { V2vError } from '../errors.js';
import type { Firmware, SourceController, SourceNic } from '../source.js';
import { type XmlElement, attr, child, children, parseXml, text } from '../xml.js';

export interface OvfDisk {
  /** The file name in the OVA (References/File href). */
  readonly href: string;
  /** 'vmdk' for the VMDK formats, 'raw' otherwise. */
  readonly format: string;
  readonly controller: SourceController | null;
}

export interface OvfGuest {
  readonly name: string;
  readonly memoryBytes: number;
  readonly vcpus: number;
  readonly firmware: Firmware | null;
  readonly disks: readonly OvfDisk[];
  readonly nics: readonly SourceNic[];
}

/** rasd:AllocationUnits such as "byte * 2^20" or "MegaBytes". */
function allocationUnits(units: string | undefined): number {
  if (units === undefined) return 1024 * 1024;
  const power = /byte\s*\*\s*2\^(\d+)/i.exec(units);
  if (power) return 2 ** Number(power[1]);
  if (/^(mega|mb)/i.test(units)) return 1024 * 1024;
  if (/^(giga|gb)/i.test(units)) return 1024 ** 3;
  if (/^(kilo|kb)/i.test(units)) return 1024;
  return 1;
}

const CONTROLLER_TYPES: Record<string, SourceController> = {
  '5': 'ide',
  '6': 'scsi',
  '20': 'sata',
};

export function parseOvf(xml: string, where: string): OvfGuest {
  let envelope: XmlElement | null;
  try {
    envelope = parseXml(xml, 'Envelope');
  } catch (e) {
    throw new V2vError('INPUT', `${where}: not XML: ${(e as Error).message}`);
  }
  if (envelope === null) throw new V2vError('INPUT', `${where}: not an OVF <Envelope>`);
  const files = new Map<string, string>();
  for (const file of children(child(envelope, 'References'), 'File')) {
    const id = attr(file, 'id');
    const href = attr(file, 'href');
    if (id && href) files.set(id, href);
  }
  const diskFiles = new Map<string, OvfDisk['format']>();
  const diskHref = new Map<string, string>();
  for (const disk of children(child(envelope, 'DiskSection'), 'Disk')) {
    const id = attr(disk, 'diskId');
    const fileRef = attr(disk, 'fileRef');
    if (!id) continue;
    const href = fileRef === undefined ? undefined : files.get(fileRef);
    if (href === undefined)
      throw new V2vError(
        'INPUT',
        `${where}: disk ${id} refers to file "${fileRef ?? ''}", which the References section does not list`,
      );
    diskHref.set(id, href);
    diskFiles.set(
      id,
      /vmdk/i.test(attr(disk, 'format') ?? '') || /\.vmdk$/i.test(href) ? 'vmdk' : 'raw',
    );
  }
  const system = child(envelope, 'VirtualSystem');
  if (system === undefined) throw new V2vError('INPUT', `${where}: no VirtualSystem in the OVF`);
  const name = text(child(system, 'Name')) ?? attr(system, 'id') ?? 'guest';
  const hardware = child(system, 'VirtualHardwareSection');
  const items = children(hardware, 'Item');
  const field = (item: XmlElement, tag: string): string | undefined => text(child(item, tag));
  const controllers = new Map<string, SourceController>();
  for (const item of items) {
    const type = CONTROLLER_TYPES[field(item, 'ResourceType') ?? ''];
    const id = field(item, 'InstanceID');
    if (type && id) controllers.set(id, type);
  }
  let memoryBytes = 1024 ** 3;
  let vcpus = 1;
  const disks: OvfDisk[] = [];
  const nics: SourceNic[] = [];
  for (const item of items) {
    switch (field(item, 'ResourceType') ?? '') {
      case '3':
        vcpus = Math.max(1, Number(field(item, 'VirtualQuantity') ?? '1') || 1);
        break;
      case '4':
        memoryBytes =
          Number(field(item, 'VirtualQuantity') ?? '1024') *
          allocationUnits(field(item, 'AllocationUnits'));
        break;
      case '10':
        nics.push({
          mac: field(item, 'Address') ?? null,
          network: field(item, 'Connection') ?? 'default',
          type: 'network',
        });
        break;
      case '17': {
        const resource = (field(item, 'HostResource') ?? '').replace(/^ovf:/, '');
        const id = /^\/?disk\/(.+)$/.exec(resource)?.[1];
        const href = id === undefined ? undefined : diskHref.get(id);
        if (id === undefined || href === undefined)
          throw new V2vError(
            'INPUT',
            `${where}: the virtual hardware's disk "${field(item, 'ElementName') ?? field(item, 'InstanceID') ?? '?'}" refers to "${resource}", which is not a disk of the DiskSection (${[...diskHref.keys()].join(', ') || 'none'})`,
          );
        disks.push({
          href,
          format: diskFiles.get(id)!,
          controller: controllers.get(field(item, 'Parent') ?? '') ?? null,
        });
        break;
      }
    }
  }
  if (disks.length === 0) throw new V2vError('INPUT', `${where}: the OVF describes no disks`);
  const efi = children(hardware, 'Config').some(
    (c) => attr(c, 'key') === 'firmware' && attr(c, 'value') === 'efi',
  );
  return { name, memoryBytes, vcpus, firmware: efi ? 'uefi' : null, disks, nics };
}
