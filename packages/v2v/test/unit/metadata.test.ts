// The metadata readers and writers: libvirt domain XML in, OVF in, tar members, the target's
// domain XML out, and the device-name remapping of the conversion.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { normaliseArgv } from '../../src/cli/argv.js';
import { deviceMap, driveName, remapCmdline, remapDevice } from '../../src/convert/linux.js';
import { familyOf } from '../../src/convert/family.js';
import {
  compareVersions,
  moduleClosure,
  parseModulesDep,
  type Kernel,
} from '../../src/convert/kernels.js';
import { domainXml } from '../../src/domain-xml.js';
import { V2vError } from '../../src/errors.js';
import { applianceDevice } from '@tsvirt/guestfs';
import { parseDomainXml } from '../../src/input/libvirtxml.js';
import { parseOvf } from '../../src/input/ovf.js';
import { listTar } from '../../src/input/tar.js';
import { parseXml, attr, child, children } from '../../src/xml.js';

const dir = mkdtempSync(join(tmpdir(), 'v2v-meta-'));
after(() => rmSync(dir, { recursive: true, force: true }));

export const OVF = (
  diskRef = 'vmdisk1',
  fileRef = 'file1',
) => `<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-1" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="guest-disk1.vmdk" ovf:id="file1" ovf:size="1000"/></References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:capacity="2" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="${fileRef}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="ovaguest">
    <Name>ovaguest</Name>
    <VirtualHardwareSection>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>768</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/${diskRef}</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Address>00:50:56:aa:bb:cc</rasd:Address><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>`;

const CAPS = {
  blockBus: 'virtio',
  netModel: 'virtio',
  virtioRng: true,
  virtioBalloon: true,
  isaPvpanic: true,
  virtioSocket: true,
  machine: 'q35',
  arch: 'x86_64',
  acpi: true,
} as const;

void describe('metadata', () => {
  void test('OVF: memory, vCPUs, disks on their controller, NICs', () => {
    const guest = parseOvf(OVF(), 'test.ovf');
    assert.equal(guest.name, 'ovaguest');
    assert.equal(guest.memoryBytes, 768 * 2 ** 20);
    assert.equal(guest.vcpus, 2);
    assert.deepEqual(guest.disks, [
      { href: 'guest-disk1.vmdk', format: 'vmdk', controller: 'scsi' },
    ]);
    assert.deepEqual(guest.nics, [
      { mac: '00:50:56:aa:bb:cc', network: 'VM Network', type: 'network' },
    ]);
  });

  void test('OVF: a disk reference that leads nowhere is an error naming it', () => {
    assert.throws(
      () => parseOvf(OVF('vmdisk9'), 'x.ovf'),
      (e: unknown) =>
        e instanceof V2vError &&
        e.code === 'INPUT' &&
        /"\/disk\/vmdisk9", which is not a disk of the DiskSection \(vmdisk1\)/.test(e.message),
    );
    assert.throws(
      () => parseOvf(OVF('vmdisk1', 'file7'), 'x.ovf'),
      /refers to file "file7", which the References section does not list/,
    );
    assert.throws(() => parseOvf('<notovf/>', 'x.ovf'), /not an OVF <Envelope>/);
  });

  void test('tar: members and the offsets of their data, as GNU tar wrote them', () => {
    writeFileSync(join(dir, 'a.ovf'), 'ovf');
    writeFileSync(join(dir, 'b-disk.img'), Buffer.alloc(5000, 7));
    execFileSync('tar', ['-cf', join(dir, 'x.ova'), '-C', dir, 'a.ovf', 'b-disk.img']);
    const members = listTar(join(dir, 'x.ova'));
    assert.deepEqual(
      members?.map((m) => [m.name, m.size]),
      [
        ['a.ovf', 3],
        ['b-disk.img', 5000],
      ],
    );
    assert.equal(members?.[1]?.offset, 1536); // header, data block, header
    assert.equal(listTar(join(dir, 'a.ovf')), null);
  });

  void test('libvirt domain XML: memory units, disks (files and volumes), NICs, firmware', () => {
    const d = parseDomainXml(
      `<domain type='kvm'><name>web</name><memory unit='MiB'>512</memory><vcpu>3</vcpu>
        <os firmware='efi'><type>hvm</type></os>
        <devices>
          <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/><target dev='sda' bus='sata'/></disk>
          <disk type='file' device='cdrom'><source file='/x.iso'/><target dev='hdc' bus='ide'/></disk>
          <disk type='volume' device='disk'><source pool='default' volume='b.raw'/><target dev='vdb' bus='virtio'/></disk>
          <interface type='bridge'><mac address='52:54:00:01:02:03'/><source bridge='br0'/></interface>
          <interface type='user'/>
        </devices></domain>`,
      'web.xml',
    );
    assert.equal(d.memoryBytes, 512 * 2 ** 20);
    assert.equal(d.vcpus, 3);
    assert.equal(d.firmware, 'uefi');
    assert.deepEqual(
      d.disks.map((x) => [x.source, x.format, x.controller]),
      [
        [{ kind: 'path', path: '/a.qcow2' }, 'qcow2', 'sata'],
        [{ kind: 'volume', pool: 'default', volume: 'b.raw' }, 'raw', 'virtio'],
      ],
    );
    assert.deepEqual(d.nics[0], { mac: '52:54:00:01:02:03', network: 'br0', type: 'bridge' });
    assert.throws(
      () => parseDomainXml('<domain><name>x</name></domain>', 'x.xml'),
      /no usable <memory>/,
    );
  });

  void test("the target's domain XML has virt-v2v's shape", () => {
    const xml = domainXml({
      name: 'g1',
      memoryBytes: 2 * 2 ** 30,
      vcpus: 2,
      firmware: 'bios',
      guestcaps: CAPS,
      os: { type: 'linux', distro: 'debian', majorVersion: 12, minorVersion: 15 },
      disks: [{ kind: 'file', path: '/out/g1-sda', format: 'raw' }],
      nics: [{ mac: null, network: 'default', type: 'network' }],
      network: { kind: 'source' },
      domainType: 'kvm',
      graphics: 'sdl',
      generator: 'tsv2v',
    });
    const d = parseXml(xml, 'domain')!;
    assert.equal(attr(d, 'type'), 'kvm');
    assert.equal(attr(child(child(d, 'os'), 'type'), 'machine'), 'q35');
    assert.equal(child(d, 'memory')?.['#text'], '2097152');
    const devices = child(d, 'devices');
    assert.deepEqual(
      children(devices, 'disk').map((x) => [
        attr(child(x, 'target'), 'dev'),
        attr(child(x, 'target'), 'bus'),
        attr(child(x, 'source'), 'file'),
      ]),
      [['vda', 'virtio', '/out/g1-sda']],
    );
    assert.equal(attr(child(child(devices, 'interface'), 'model'), 'type'), 'virtio');
    for (const tag of ['rng', 'memballoon', 'panic', 'vsock', 'console', 'channel', 'controller'])
      assert.ok(child(devices, tag), `<${tag}> is there`);
    assert.match(xml, /libosinfo:os id="http:\/\/debian.org\/debian\/12"/);
    const user = domainXml({
      ...{
        name: 'g2',
        memoryBytes: 2 ** 30,
        vcpus: 1,
        firmware: 'bios',
        guestcaps: { ...CAPS, blockBus: 'ide', machine: 'pc' },
        os: { type: 'linux', distro: 'x', majorVersion: 1, minorVersion: 0 },
        disks: [{ kind: 'volume', pool: 'p', volume: 'v', format: 'qcow2' }],
        nics: [{ mac: null, network: 'n', type: 'network' }],
        network: { kind: 'user' },
        domainType: 'qemu',
        graphics: 'vnc',
        generator: 't',
      },
    } as const);
    const u = child(parseXml(user, 'domain')!, 'devices');
    assert.equal(attr(child(u, 'interface'), 'type'), 'user');
    assert.deepEqual(
      [
        attr(child(child(u, 'disk'), 'target'), 'dev'),
        attr(child(child(u, 'disk'), 'target'), 'bus'),
      ],
      ['hda', 'ide'],
    );
  });

  void test('device names: sdX and xvdX become vdX, partitions kept; other names left', () => {
    const map = deviceMap([null, 'scsi'], familyOf('debian')!, 12, 'virtio');
    assert.equal(remapDevice('/dev/sda1', map), '/dev/vda1');
    assert.equal(remapDevice('/dev/sdb', map), '/dev/vdb');
    assert.equal(remapDevice('/dev/xvda2', map), '/dev/vda2');
    assert.equal(remapDevice('/dev/sdc1', map), '/dev/sdc1');
    assert.equal(remapDevice('UUID=1234', map), 'UUID=1234');
    assert.equal(
      remapCmdline('quiet root=/dev/sda1 resume=/dev/sdb2 console=ttyS0', map),
      'quiet root=/dev/vda1 resume=/dev/vdb2 console=ttyS0',
    );
    assert.equal(driveName(0), 'a');
    assert.equal(driveName(25), 'z');
    assert.equal(driveName(26), 'aa');
  });

  void test('modules.dep closure and kernel version order', () => {
    const deps = parseModulesDep(
      'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n' +
        'kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz kernel/drivers/virtio/virtio.ko\n' +
        'kernel/drivers/virtio/virtio.ko:\nkernel/drivers/virtio/virtio_ring.ko:\nkernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:\n',
    );
    const kernel = { dependencies: deps } as unknown as Kernel;
    assert.deepEqual(moduleClosure(kernel, ['virtio_blk', 'virtio_pci', 'built_in_one']), [
      'virtio',
      'virtio_blk',
      'virtio_pci',
      'virtio_pci_modern_dev',
      'virtio_ring',
    ]);
    assert.ok(compareVersions('6.1.0-10-amd64', '6.1.0-9-amd64') > 0);
  });

  void test("the appliance kernel's device is found by drive id, whatever order it probed", () => {
    assert.equal(
      applianceDevice('/dev/sda1'),
      '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd0-part1',
    );
    assert.equal(applianceDevice('/dev/sdb'), '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd1');
    assert.equal(
      applianceDevice('/dev/sdaa2'),
      '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd26-part2',
    );
    assert.equal(applianceDevice('/dev/debian-vg/root'), '/dev/debian-vg/root');
  });

  void test("virt-v2v's -ic/-os spellings become long options", () => {
    assert.deepEqual(
      normaliseArgv(['-i', 'disk', '-os', '/x', '-of=qcow2', '-v', '--root', 'first']),
      ['-i', 'disk', '--os', '/x', '--of=qcow2', '-v', '--root', 'first'],
    );
  });
});
