/**
 * The values the short-form methods (shortcuts.ts) return, in the units and words a caller
 * uses: sizes in bytes as bigint where libvirt counts 64-bit KiB, states as virsh names them.
 * The generated methods return libvirt's own shapes (protocol/remote.generated.ts).
 */
import type { DomainLifecycleEvent } from './events.generated.js';
import type { TypedParams } from './typed-params.js';

export type {
  DomainCheckpointRef,
  DomainRef,
  DomainSnapshotRef,
  InterfaceRef,
  NetworkPortRef,
  NetworkRef,
  NodeDeviceRef,
  NwFilterBindingRef,
  NwFilterRef,
  SecretRef,
  StoragePoolRef,
  StorageVolRef,
} from './protocol/remote.generated.js';
import type { DomainRef } from './protocol/remote.generated.js';

export type DomainState =
  | 'no state'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shut off'
  | 'crashed'
  | 'pmsuspended';

/** virDomainState numbers (DomainStateCode) to the names virsh prints. */
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

export function domainStateName(state: number): DomainState {
  return DOMAIN_STATES[state] ?? 'no state';
}

export interface NodeInfo {
  /** CPU model, e.g. 'x86_64'. */
  model: string;
  memoryBytes: bigint;
  cpus: number;
  /** Expected CPU frequency in MHz. */
  mhz: number;
  /** NUMA nodes. */
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
  /** Typed parameters, e.g. 'state.state', 'vcpu.current', 'balloon.current' (KiB). */
  params: TypedParams;
}

export interface InterfaceAddresses {
  name: string;
  hwaddr: string | null;
  addrs: { type: 'ipv4' | 'ipv6'; addr: string; prefix: number }[];
}

export interface StoragePoolInfo {
  /** StoragePoolState: 0 inactive, 2 running... */
  state: number;
  capacity: bigint;
  allocation: bigint;
  available: bigint;
}

export interface StorageVolInfo {
  /** StorageVolType: 0 file, 1 block... */
  type: number;
  capacity: bigint;
  allocation: bigint;
}

export interface JobInfo {
  /** DomainJobType: 0 none, 1 bounded, 2 unbounded... */
  type: number;
  dataTotal: bigint;
  dataProcessed: bigint;
  dataRemaining: bigint;
}

/**
 * Migration parameters (VIR_MIGRATE_PARAM_*). Names as libvirt spells them, except `uri`,
 * which is libvirt's `migrate_uri` (where the hypervisors connect for the data).
 */
export interface MigrateParams {
  /** New name of the domain on the destination. */
  destination_name?: string;
  /** Domain XML to use on the destination. */
  destination_xml?: string;
  /** Persistent XML to define on the destination. */
  persistent_xml?: string;
  /** Disks (target names, e.g. 'vda') to copy with NON_SHARED_DISK. */
  migrate_disks?: string[];
  /** Data connection URI for the hypervisor, e.g. 'tcp://10.0.0.2'. */
  uri?: string;
  /** Bandwidth limit in MiB/s. */
  bandwidth?: bigint;
  /** Address the destination listens on for incoming migration. */
  listen_address?: string;
  /** Port for the disk copy (NBD) on the destination. */
  disks_port?: number;
  /** Number of parallel connections (with MigrateFlags.PARALLEL). */
  parallel_connections?: number;
}

/** A domain's lifecycle event (the package's earlier name for DomainLifecycleEvent). */
export type LifecycleEvent = DomainLifecycleEvent;
