// @tsvirt/v2v: convert a foreign guest to run on KVM under libvirt, the virt-v2v way.
export {
  convert,
  type ConvertOptions,
  type ConvertEvents,
  type ConversionPlan,
  type ConversionResult,
} from './convert.js';
export { V2vError, type V2vErrorCode } from './errors.js';
export {
  describeSource,
  type SourceGuest,
  type SourceDisk,
  type SourceNic,
  type DiskLocation,
  type Firmware,
} from './source.js';
export { diskSource, detectFormat } from './input/disk.js';
export { libvirtXmlSource, parseDomainXml } from './input/libvirtxml.js';
export { libvirtSource, type LibvirtInputOptions } from './input/libvirt.js';
export { ovaSource } from './input/ova.js';
export { parseOvf } from './input/ovf.js';
export { listTar } from './input/tar.js';
export { LocalOutput, type DiskFormatOptions } from './output/local.js';
export {
  LibvirtOutput,
  type LibvirtOutputOptions,
  type OutputConnection,
} from './output/libvirt.js';
export { NullOutput } from './output/null.js';
export type { Output, CopyStats, GuestMetadata } from './output/output.js';
export { domainXml, osinfoId, type NetworkMapping, type TargetDisk } from './domain-xml.js';
export { listInitramfs, CpioLister, type InitramfsListing } from './convert/initramfs.js';
export type { LinuxConversion, InitramfsDecision } from './convert/linux.js';
export type { GuestCaps } from './convert/guestcaps.js';
export type { RootChoice, InspectedGuest } from './inspect-source.js';
