/**
 * What an input module found about the guest to convert: its disks (and how to read each),
 * and the metadata the target is made from (memory, vCPUs, firmware, NICs). The same record
 * whatever the input (a bare disk, libvirt XML, an OVF), as virt-v2v's `source`.
 */

/** How a disk's bytes are read. `offset`/`size` select a member of a tar file (an OVA). */
export interface DiskLocation {
  readonly path: string;
  /** The image format: raw is served by tsnbd, anything else by qemu-nbd. */
  readonly format: string;
  readonly offset?: number | undefined;
  readonly size?: number | undefined;
}

/** The bus the disk was on in the source, when the metadata says (used to remap names). */
export type SourceController = 'ide' | 'sata' | 'scsi' | 'virtio' | 'nvme';

export interface SourceDisk {
  readonly location: DiskLocation;
  readonly controller: SourceController | null;
}

export interface SourceNic {
  readonly mac: string | null;
  /** The network or bridge the NIC was attached to in the source. */
  readonly network: string;
  readonly type: 'network' | 'bridge';
}

export type Firmware = 'bios' | 'uefi';

export interface SourceGuest {
  /** The guest's name (the default name of the target). */
  readonly name: string;
  /** Where it came from: 'disk', 'libvirt', 'ova'... */
  readonly hypervisor: string;
  readonly memoryBytes: number;
  readonly vcpus: number;
  /** null: not stated by the source; inspection decides (an ESP means UEFI). */
  readonly firmware: Firmware | null;
  readonly disks: readonly SourceDisk[];
  readonly nics: readonly SourceNic[];
}

/** The source as `--print-source` shows it. */
export function describeSource(source: SourceGuest): string {
  const lines = [
    `    source name: ${source.name}`,
    `hypervisor type: ${source.hypervisor}`,
    `         memory: ${source.memoryBytes} (bytes)`,
    `       nr vCPUs: ${source.vcpus}`,
    `       firmware: ${source.firmware ?? 'unknown'}`,
    'disks:',
    ...source.disks.map(
      (d, i) =>
        `\t${i}: ${d.location.path}${d.location.offset !== undefined ? ` @${d.location.offset}+${d.location.size}` : ''} (${d.location.format})${d.controller ? ` [${d.controller}]` : ''}`,
    ),
    'NICs:',
    ...source.nics.map(
      (n) => `\t${n.type} "${n.network}"${n.mac !== null ? ` mac: ${n.mac}` : ''}`,
    ),
  ];
  return lines.join('\n') + '\n';
}
