// Domain XML for the test guest, for tests that define it directly (mclu builds its own).
import { machineDomainType, type DomainType } from './accel.js';

export interface TinyGuestOptions {
  name: string;
  /** The disk as seen inside the node, e.g. /var/lib/libvirt/images/NAME.qcow2. */
  disk: string;
  format?: 'qcow2' | 'raw';
  memoryMiB?: number;
  /** Where the serial console is also logged, as seen inside the node. Default
   *  /var/log/libvirt/qemu/NAME-serial.log (the node's ClusterNode.logDir + qemu/...). */
  serialLog?: string;
  /** kvm or qemu (TCG). Default: what the cluster's guests use on this machine
   *  (TSVIRT_CLUSTER_ACCEL, else the cached KVM probe, else qemu); see Cluster.accel. */
  domainType?: DomainType;
}

const escapeXml = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');

/** A guest (`<domain type='qemu'>` or `'kvm'>`, see domainType) booting the test image from a virtio disk, with its
 *  serial console on a pty (for `virsh console`) and logged to a file, user-mode networking,
 *  and ACPI so that `virsh shutdown` powers it off. */
export function tinyGuestXml(o: TinyGuestOptions): string {
  const serialLog = o.serialLog ?? `/var/log/libvirt/qemu/${o.name}-serial.log`;
  return `<domain type='${o.domainType ?? machineDomainType()}'>
  <name>${escapeXml(o.name)}</name>
  <memory unit='MiB'>${o.memoryMiB ?? 128}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='${o.format ?? 'qcow2'}'/>
      <source file='${escapeXml(o.disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'>
      <log file='${escapeXml(serialLog)}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
`;
}

/** Where tinyGuestXml logs the serial console, relative to the node's log dir. */
export function serialLogName(guest: string): string {
  return `qemu/${guest}-serial.log`;
}
