/**
 * The package's short-form methods, kept for the callers that use them (mclu, the conversion
 * tool): the common calls under the names a cluster manager reads best, and with the units
 * converted (KiB to bytes, state numbers to virsh's words). Each is one generated call.
 */
import { InterfaceAddressesSource, type Flags } from './flags.js';
import { RemoteProcedures } from './methods.generated.js';
import type * as t from './protocol/remote.generated.js';
import type { LibvirtStream } from './stream.js';
import {
  type DomainInfo,
  type DomainState,
  type InterfaceAddresses,
  type JobInfo,
  type NodeInfo,
  type StoragePoolInfo,
  type StorageVolInfo,
  domainStateName,
} from './types.js';

export abstract class Shortcuts extends RemoteProcedures {
  // --- host ---

  getHostname(): Promise<string> {
    return this.connectGetHostname();
  }

  getLibVersion(): Promise<bigint> {
    return this.connectGetLibVersion();
  }

  async getNodeInfo(): Promise<NodeInfo> {
    const r = await this.nodeGetInfo();
    return {
      model: r.model,
      memoryBytes: r.memory * 1024n, // libvirt reports KiB
      cpus: r.cpus,
      mhz: r.mhz,
      nodes: r.nodes,
      sockets: r.sockets,
      cores: r.cores,
      threads: r.threads,
    };
  }

  /** The capabilities XML: host CPU and architecture, and the guests it can run. */
  getCapabilities(): Promise<string> {
    return this.connectGetCapabilities();
  }

  /** Free memory of the host, bytes. */
  getFreeMemory(): Promise<bigint> {
    return this.nodeGetFreeMemory();
  }

  // --- domains ---

  listAllDomains(flags: Flags = 0): Promise<t.DomainRef[]> {
    return this.connectListAllDomains(flags);
  }

  lookupDomainByName(name: string): Promise<t.DomainRef> {
    return this.domainLookupByName(name);
  }

  async getDomainInfo(domain: t.DomainRef): Promise<DomainInfo> {
    const r = await this.domainGetInfo(domain);
    return {
      state: domainStateName(r.state),
      maxMemoryBytes: r.maxMem * 1024n,
      memoryBytes: r.memory * 1024n,
      vcpus: r.nrVirtCpu,
      cpuTimeNs: r.cpuTime,
    };
  }

  async getDomainState(domain: t.DomainRef): Promise<{ state: DomainState; reason: number }> {
    const r = await this.domainGetState(domain);
    return { state: domainStateName(r.state), reason: r.reason };
  }

  isDomainActive(domain: t.DomainRef): Promise<boolean> {
    return this.domainIsActive(domain);
  }

  getDomainXml(domain: t.DomainRef, flags: Flags = 0): Promise<string> {
    return this.domainGetXmlDesc(domain, flags);
  }

  defineDomainXml(xml: string, flags: Flags = 0): Promise<t.DomainRef> {
    return this.domainDefineXmlFlags(xml, flags);
  }

  async createDomain(domain: t.DomainRef, flags: Flags = 0): Promise<void> {
    await this.domainCreateWithFlags(domain, flags);
  }

  shutdownDomain(domain: t.DomainRef): Promise<void> {
    return this.domainShutdown(domain);
  }

  rebootDomain(domain: t.DomainRef, flags: Flags = 0): Promise<void> {
    return this.domainReboot(domain, flags);
  }

  destroyDomain(domain: t.DomainRef): Promise<void> {
    return this.domainDestroy(domain);
  }

  undefineDomain(domain: t.DomainRef, flags: Flags = 0): Promise<void> {
    return this.domainUndefineFlags(domain, flags);
  }

  getDomainAutostart(domain: t.DomainRef): Promise<boolean> {
    return this.domainGetAutostart(domain);
  }

  setDomainAutostart(domain: t.DomainRef, autostart: boolean): Promise<void> {
    return this.domainSetAutostart(domain, autostart);
  }

  async getDomainInterfaceAddresses(
    domain: t.DomainRef,
    source: keyof typeof InterfaceAddressesSource,
  ): Promise<InterfaceAddresses[]> {
    const ifaces = await this.domainInterfaceAddresses(domain, InterfaceAddressesSource[source]);
    return ifaces.map((i) => ({
      name: i.name,
      hwaddr: i.hwaddr,
      addrs: i.addrs.map((a) => ({
        type: a.type === 1 ? ('ipv6' as const) : ('ipv4' as const),
        addr: a.addr,
        prefix: a.prefix,
      })),
    }));
  }

  async getJobInfo(domain: t.DomainRef): Promise<JobInfo> {
    const r = await this.domainGetJobInfo(domain);
    return {
      type: r.type,
      dataTotal: r.dataTotal,
      dataProcessed: r.dataProcessed,
      dataRemaining: r.dataRemaining,
    };
  }

  /** Cancels the domain's job in progress (a migration: the guest stays where it was). */
  abortDomainJob(domain: t.DomainRef): Promise<void> {
    return this.domainAbortJob(domain);
  }

  openConsole(
    domain: t.DomainRef,
    devName: string | null = null,
    flags: Flags = 0,
  ): Promise<LibvirtStream> {
    return this.domainOpenConsole(domain, devName, flags);
  }

  // --- networks ---

  /** Virtual networks; flags from ListNetworksFlags (0: all). */
  listAllNetworks(flags: Flags = 0): Promise<t.NetworkRef[]> {
    return this.connectListAllNetworks(flags);
  }

  // --- storage ---

  listAllStoragePools(flags: Flags = 0): Promise<t.StoragePoolRef[]> {
    return this.connectListAllStoragePools(flags);
  }

  lookupStoragePoolByName(name: string): Promise<t.StoragePoolRef> {
    return this.storagePoolLookupByName(name);
  }

  lookupStoragePoolByTargetPath(path: string): Promise<t.StoragePoolRef> {
    return this.storagePoolLookupByTargetPath(path);
  }

  defineStoragePoolXml(xml: string): Promise<t.StoragePoolRef> {
    return this.storagePoolDefineXml(xml);
  }

  buildStoragePool(pool: t.StoragePoolRef, flags: Flags = 0): Promise<void> {
    return this.storagePoolBuild(pool, flags);
  }

  createStoragePool(pool: t.StoragePoolRef, flags: Flags = 0): Promise<void> {
    return this.storagePoolCreate(pool, flags);
  }

  destroyStoragePool(pool: t.StoragePoolRef): Promise<void> {
    return this.storagePoolDestroy(pool);
  }

  undefineStoragePool(pool: t.StoragePoolRef): Promise<void> {
    return this.storagePoolUndefine(pool);
  }

  setStoragePoolAutostart(pool: t.StoragePoolRef, autostart: boolean): Promise<void> {
    return this.storagePoolSetAutostart(pool, autostart);
  }

  refreshStoragePool(pool: t.StoragePoolRef): Promise<void> {
    return this.storagePoolRefresh(pool);
  }

  getStoragePoolInfo(pool: t.StoragePoolRef): Promise<StoragePoolInfo> {
    return this.storagePoolGetInfo(pool);
  }

  listAllStorageVols(pool: t.StoragePoolRef): Promise<t.StorageVolRef[]> {
    return this.storagePoolListAllVolumes(pool);
  }

  createStorageVolXml(
    pool: t.StoragePoolRef,
    xml: string,
    flags: Flags = 0,
  ): Promise<t.StorageVolRef> {
    return this.storageVolCreateXml(pool, xml, flags);
  }

  lookupStorageVolByPath(path: string): Promise<t.StorageVolRef> {
    return this.storageVolLookupByPath(path);
  }

  lookupStorageVolByName(pool: t.StoragePoolRef, name: string): Promise<t.StorageVolRef> {
    return this.storageVolLookupByName(pool, name);
  }

  getStorageVolPath(vol: t.StorageVolRef): Promise<string> {
    return this.storageVolGetPath(vol);
  }

  getStorageVolInfo(vol: t.StorageVolRef): Promise<StorageVolInfo> {
    return this.storageVolGetInfo(vol);
  }

  deleteStorageVol(vol: t.StorageVolRef, flags: Flags = 0): Promise<void> {
    return this.storageVolDelete(vol, flags);
  }

  /**
   * Upload: returns a stream to write the bytes into; finish() waits for the daemon. With
   * StorageVolUploadFlags.SPARSE_STREAM it takes Buffers and StreamHoles (readSparseFile).
   */
  uploadStorageVol(
    vol: t.StorageVolRef,
    offset: bigint,
    length: bigint,
    flags: Flags = 0,
  ): Promise<LibvirtStream> {
    return this.storageVolUpload(vol, offset, length, flags);
  }

  /**
   * Download: returns a stream to read the bytes from; length 0n means to the end. With
   * StorageVolDownloadFlags.SPARSE_STREAM it gives Buffers and StreamHoles (writeSparseFile).
   */
  downloadStorageVol(
    vol: t.StorageVolRef,
    offset: bigint,
    length: bigint,
    flags: Flags = 0,
  ): Promise<LibvirtStream> {
    return this.storageVolDownload(vol, offset, length, flags);
  }
}
