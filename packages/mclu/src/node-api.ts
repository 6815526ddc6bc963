// The part of a libvirt connection that mclu uses, as its own narrow interface. The real
// implementation is @tsvirt/libvirt's LibvirtConnection (structurally a superset); unit
// tests use small fakes. The types and libvirt's numbers are that package's own.
import type { Duplex } from 'node:stream';
import type {
  DomainInfo,
  DomainRef,
  DomainStatsRecord,
  InterfaceAddresses,
  JobInfo,
  MigrateParams,
  NetworkRef,
  NodeInfo,
  StoragePoolRef,
  StorageVolRef,
} from '@tsvirt/libvirt';

export type {
  DomainRef,
  DomainState,
  DomainStatsRecord,
  StoragePoolRef,
  StorageVolRef,
} from '@tsvirt/libvirt';

/** A libvirt stream as mclu uses it (libvirt's LibvirtStream class has this shape; a fake
 *  can too, which the class itself, with its private state, does not allow). */
export interface LibvirtStream extends Duplex {
  finish(): Promise<void>;
  abort(): Promise<void>;
}
export interface NodeApi {
  readonly uri: string;
  close(): Promise<void>;
  getNodeInfo(): Promise<NodeInfo>;
  getCapabilities(): Promise<string>;
  listAllNetworks(flags?: number): Promise<NetworkRef[]>;
  getFreeMemory(): Promise<bigint>;
  listAllDomains(flags?: number): Promise<DomainRef[]>;
  getAllDomainStats(stats: number, flags?: number): Promise<DomainStatsRecord[]>;
  lookupDomainByName(name: string): Promise<DomainRef>;
  getDomainInfo(domain: DomainRef): Promise<DomainInfo>;
  getDomainXml(domain: DomainRef, flags?: number): Promise<string>;
  defineDomainXml(xml: string, flags?: number): Promise<DomainRef>;
  createDomain(domain: DomainRef, flags?: number): Promise<void>;
  shutdownDomain(domain: DomainRef): Promise<void>;
  rebootDomain(domain: DomainRef, flags?: number): Promise<void>;
  destroyDomain(domain: DomainRef): Promise<void>;
  undefineDomain(domain: DomainRef, flags?: number): Promise<void>;
  getDomainAutostart(domain: DomainRef): Promise<boolean>;
  getDomainInterfaceAddresses(
    domain: DomainRef,
    source: 'lease' | 'agent' | 'arp',
  ): Promise<InterfaceAddresses[]>;
  migrateToUri3(
    domain: DomainRef,
    destinationUri: string,
    params: MigrateParams,
    flags: number,
  ): Promise<void>;
  getJobInfo(domain: DomainRef): Promise<JobInfo>;
  abortDomainJob(domain: DomainRef): Promise<void>;
  openConsole(domain: DomainRef, devName?: string | null, flags?: number): Promise<LibvirtStream>;
  listAllStoragePools(flags?: number): Promise<StoragePoolRef[]>;
  lookupStoragePoolByTargetPath(path: string): Promise<StoragePoolRef>;
  lookupStoragePoolByName(name: string): Promise<StoragePoolRef>;
  defineStoragePoolXml(xml: string): Promise<StoragePoolRef>;
  buildStoragePool(pool: StoragePoolRef, flags?: number): Promise<void>;
  createStoragePool(pool: StoragePoolRef, flags?: number): Promise<void>;
  setStoragePoolAutostart(pool: StoragePoolRef, autostart: boolean): Promise<void>;
  refreshStoragePool(pool: StoragePoolRef): Promise<void>;
  getStoragePoolInfo(
    pool: StoragePoolRef,
  ): Promise<{ state: number; capacity: bigint; allocation: bigint; available: bigint }>;
  createStorageVolXml(pool: StoragePoolRef, xml: string, flags?: number): Promise<StorageVolRef>;
  lookupStorageVolByPath(path: string): Promise<StorageVolRef>;
  lookupStorageVolByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef>;
  getStorageVolPath(vol: StorageVolRef): Promise<string>;
  getStorageVolInfo(
    vol: StorageVolRef,
  ): Promise<{ type: number; capacity: bigint; allocation: bigint }>;
  deleteStorageVol(vol: StorageVolRef, flags?: number): Promise<void>;
  uploadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags?: number,
  ): Promise<LibvirtStream>;
  downloadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags?: number,
  ): Promise<LibvirtStream>;
}

/** The libvirt error number of an error from the client, if it is a daemon's error reply. */
export function libvirtErrorNumber(error: unknown): number | null {
  if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'number' &&
    'codeName' in error
  )
    return error.code;
  return null;
}
