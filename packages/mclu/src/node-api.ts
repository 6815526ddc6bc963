// The part of a libvirt connection that mclu uses, as its own narrow interface. The real
// implementation is @tsvirt/libvirt's LibvirtConnection (structurally a superset); unit
// tests use small fakes. Shapes follow that package's contract exactly.
import type { Duplex } from 'node:stream';

export type DomainState =
  | 'no state'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shut off'
  | 'crashed'
  | 'pmsuspended';

export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
}
export interface NodeInfo {
  model: string;
  memoryBytes: bigint;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}
export interface DomainInfo {
  state: DomainState;
  maxMemoryBytes: bigint;
  memoryBytes: bigint;
  vcpus: number;
  cpuTimeNs: bigint;
}
export interface DomainStatsRecord {
  domain: DomainRef;
  params: Map<string, number | bigint | string | boolean>;
}
export interface InterfaceAddresses {
  name: string;
  hwaddr: string | null;
  addrs: { type: 'ipv4' | 'ipv6'; addr: string; prefix: number }[];
}
export interface StoragePoolRef {
  name: string;
  uuid: string;
}
export interface StorageVolRef {
  pool: string;
  name: string;
  key: string;
}
export interface JobInfo {
  type: number;
  dataTotal: bigint;
  dataProcessed: bigint;
  dataRemaining: bigint;
}
export interface LibvirtStream extends Duplex {
  finish(): Promise<void>;
  abort(): Promise<void>;
}
export type MigrateParams = Record<string, string | string[] | bigint | number | undefined>;

export interface NodeApi {
  readonly uri: string;
  close(): Promise<void>;
  getNodeInfo(): Promise<NodeInfo>;
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

// libvirt's numbers (stable ABI), for the few flags mclu passes.
export const ListDomains = { ACTIVE: 1, INACTIVE: 2 } as const;
export const DomainStats = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
} as const;
export const Migrate = {
  LIVE: 1,
  PEER2PEER: 2,
  TUNNELLED: 4,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  PAUSED: 32,
  NON_SHARED_DISK: 64,
} as const;
export const Undefine = { MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4 } as const;
/** virDomainState numbers, as found in the 'state.state' stats field. */
export const DOMAIN_STATES: readonly DomainState[] = [
  'no state',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shut off',
  'crashed',
  'pmsuspended',
];
export const ERR_NO_DOMAIN = 42;
export const ERR_NO_STORAGE_POOL = 49;
export const ERR_NO_STORAGE_VOL = 50;

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
