// A hand-made OVA of the Debian test guest, as VMware exports them: an OVF, the disk as a
// streamOptimized VMDK (made by qemu-img) and a SHA256 manifest, in a tar file. Built once
// per image and cached beside it (testimages' cache: safe under concurrent tests).
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, type DebianImage } from '@tsvirt/testimages';
import { run } from './helpers.js';

export const OVA_MEMORY_MIB = 768;

function ovf(name: string, diskBytes: number, vmdkBytes: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="${name}-disk1.vmdk" ovf:id="file1" ovf:size="${vmdkBytes}"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="${diskBytes}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>networks</Info><Network ovf:name="VM Network"/></NetworkSection>
  <VirtualSystem ovf:id="${name}">
    <Info>A virtual machine</Info>
    <Name>${name}</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian12_64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>${OVA_MEMORY_MIB}MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>${OVA_MEMORY_MIB}</rasd:VirtualQuantity></Item>
      <Item><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The OVA (a tar file) of `image`, guest name `name`. */
export async function handMadeOva(image: DebianImage, name: string): Promise<string> {
  const dir = await cached(`ova-${name}-${image.key}`, async (temp) => {
    mkdirSync(temp);
    const work = join(temp, 'work');
    mkdirSync(work);
    const vmdk = `${name}-disk1.vmdk`;
    const convert = await run('qemu-img', [
      'convert',
      '-O',
      'vmdk',
      '-o',
      'subformat=streamOptimized',
      image.path,
      join(work, vmdk),
    ]);
    if (convert.code !== 0) throw new Error(`qemu-img convert: ${convert.stderr}`);
    writeFileSync(
      join(work, `${name}.ovf`),
      ovf(name, image.sizeBytes, statSync(join(work, vmdk)).size),
    );
    const manifest = [`${name}.ovf`, vmdk].map(
      async (f) => `SHA256(${f})= ${await sha256(join(work, f))}\n`,
    );
    writeFileSync(join(work, `${name}.mf`), (await Promise.all(manifest)).join(''));
    const tar = await run('tar', [
      '-cf',
      join(temp, `${name}.ova`),
      '-C',
      work,
      `${name}.ovf`,
      `${name}.mf`,
      vmdk,
    ]);
    if (tar.code !== 0) throw new Error(`tar: ${tar.stderr}`);
    await run('rm', ['-rf', work]);
  });
  return join(dir, `${name}.ova`);
}
