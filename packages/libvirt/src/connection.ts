import { decode } from '@tsvirt/xdr';
import { LibvirtTransportError } from './errors.js';
import { ConnectFlags, InterfaceAddressesSource } from './flags.js';
import {
  AuthType,
  DomainEventId,
  DriverFeature,
  EventProc,
  type Procedure,
  Proc,
  lifecycleMsg,
} from './protocol/procedures.js';
import { TypedParamType, type TypedParam, typedParamsToMap } from './protocol/wire.js';
import { RpcClient } from './rpc/client.js';
import { LibvirtStream } from './stream.js';
import { openSocket } from './transport/socket.js';
import { openSsh } from './transport/ssh.js';
import type { Transport } from './transport/transport.js';
import {
  type DomainInfo,
  type DomainRef,
  type DomainState,
  type DomainStatsRecord,
  type InterfaceAddresses,
  type JobInfo,
  type LifecycleEvent,
  type MigrateParams,
  type NetworkRef,
  type NodeInfo,
  type StoragePoolInfo,
  type StoragePoolRef,
  type StorageVolInfo,
  type StorageVolRef,
  domainStateName,
} from './types.js';
import { type ParsedUri, parseUri } from './uri.js';

export interface SshTransportOptions {
  /** Path given to `ssh -F`. Default: ssh's own (~/.ssh/config). */
  configFile?: string;
  /** Extra arguments inserted before the destination, e.g. ['-i', key, '-o', 'X=Y']. */
  extraArgs?: string[];
  /** The ssh program. Default 'ssh'. */
  command?: string;
  /** What runs on the node: 'auto' (virt-ssh-helper if present, else `nc -U`), or one of them. */
  helper?: 'auto' | 'virt-ssh-helper' | 'netcat';
}

export interface ConnectOptions {
  /** Give up connecting (ssh + handshake + open) after this long. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Keepalive: send a ping every intervalMs; close with an error after `count` missed.
   *  Default { intervalMs: 5000, count: 5 } (libvirt's own defaults). */
  keepalive?: { intervalMs: number; count: number } | false;
  ssh?: SshTransportOptions;
  readOnly?: boolean;
}

export interface LibvirtConnection {
  readonly uri: string;
  close(): Promise<void>;
  /** Called once when the connection ends: with why it was lost, or code CLOSED after close(). */
  onClose(listener: (err: LibvirtTransportError) => void): void;
  getHostname(): Promise<string>;
  getLibVersion(): Promise<bigint>;
  getNodeInfo(): Promise<NodeInfo>;
  /** The capabilities XML: host CPU and architecture, and the guests it can run. */
  getCapabilities(): Promise<string>;
  /** Free memory of the host, bytes. */
  getFreeMemory(): Promise<bigint>;
  listAllDomains(flags?: number): Promise<DomainRef[]>;
  getAllDomainStats(stats: number, flags?: number): Promise<DomainStatsRecord[]>;
  lookupDomainByName(name: string): Promise<DomainRef>;
  getDomainInfo(domain: DomainRef): Promise<DomainInfo>;
  getDomainState(domain: DomainRef): Promise<{ state: DomainState; reason: number }>;
  isDomainActive(domain: DomainRef): Promise<boolean>;
  getDomainXml(domain: DomainRef, flags?: number): Promise<string>;
  defineDomainXml(xml: string, flags?: number): Promise<DomainRef>;
  createDomain(domain: DomainRef, flags?: number): Promise<void>;
  shutdownDomain(domain: DomainRef): Promise<void>;
  rebootDomain(domain: DomainRef, flags?: number): Promise<void>;
  destroyDomain(domain: DomainRef): Promise<void>;
  undefineDomain(domain: DomainRef, flags?: number): Promise<void>;
  getDomainAutostart(domain: DomainRef): Promise<boolean>;
  setDomainAutostart(domain: DomainRef, autostart: boolean): Promise<void>;
  getDomainInterfaceAddresses(
    domain: DomainRef,
    source: 'lease' | 'agent' | 'arp',
  ): Promise<InterfaceAddresses[]>;
  /** Peer-to-peer live migration driven by the source daemon (use MigrateFlags.PEER2PEER). */
  migrateToUri3(
    domain: DomainRef,
    destinationUri: string,
    params: MigrateParams,
    flags: number,
  ): Promise<void>;
  getJobInfo(domain: DomainRef): Promise<JobInfo>;
  /** Cancels the domain's job in progress (a migration: the guest stays where it was). */
  abortDomainJob(domain: DomainRef): Promise<void>;
  openConsole(domain: DomainRef, devName?: string | null, flags?: number): Promise<LibvirtStream>;
  /** Virtual networks; flags from ListNetworksFlags (0: all). */
  listAllNetworks(flags?: number): Promise<NetworkRef[]>;
  listAllStoragePools(flags?: number): Promise<StoragePoolRef[]>;
  lookupStoragePoolByName(name: string): Promise<StoragePoolRef>;
  lookupStoragePoolByTargetPath(path: string): Promise<StoragePoolRef>;
  defineStoragePoolXml(xml: string): Promise<StoragePoolRef>;
  buildStoragePool(pool: StoragePoolRef, flags?: number): Promise<void>;
  createStoragePool(pool: StoragePoolRef, flags?: number): Promise<void>;
  destroyStoragePool(pool: StoragePoolRef): Promise<void>;
  undefineStoragePool(pool: StoragePoolRef): Promise<void>;
  setStoragePoolAutostart(pool: StoragePoolRef, autostart: boolean): Promise<void>;
  refreshStoragePool(pool: StoragePoolRef): Promise<void>;
  getStoragePoolInfo(pool: StoragePoolRef): Promise<StoragePoolInfo>;
  listAllStorageVols(pool: StoragePoolRef): Promise<StorageVolRef[]>;
  createStorageVolXml(pool: StoragePoolRef, xml: string, flags?: number): Promise<StorageVolRef>;
  lookupStorageVolByPath(path: string): Promise<StorageVolRef>;
  lookupStorageVolByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef>;
  getStorageVolPath(vol: StorageVolRef): Promise<string>;
  getStorageVolInfo(vol: StorageVolRef): Promise<StorageVolInfo>;
  deleteStorageVol(vol: StorageVolRef, flags?: number): Promise<void>;
  /** Upload: returns a stream to write the bytes into; finish() waits for the daemon. */
  uploadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags?: number,
  ): Promise<LibvirtStream>;
  /** Download: returns a stream to read the bytes from. length 0n means to the end. */
  downloadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags?: number,
  ): Promise<LibvirtStream>;
  /** Lifecycle events of every domain; resolves to a function that unsubscribes. */
  onDomainLifecycle(listener: (event: LifecycleEvent) => void): Promise<() => Promise<void>>;
  /** Any procedure of the table, for what the typed methods do not cover yet. */
  call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEPALIVE = { intervalMs: 5000, count: 5 };
const CLOSE_TIMEOUT_MS = 2000;

/**
 * Connect to libvirtd. URIs: 'qemu:///system', 'qemu+unix:///system?socket=/path',
 * 'test:///default' (the test driver inside the daemon), 'qemu+ssh://[user@]host[:port]/system'
 * (ssh runs `virt-ssh-helper qemu:///system`, or `nc -U` on the socket where the node lacks it),
 * 'qemu+tcp://host[:port]/system'. ssh always runs with BatchMode=yes, so it never prompts.
 */
export async function connect(
  uri: string,
  options: ConnectOptions = {},
): Promise<LibvirtConnection> {
  const readOnly = options.readOnly ?? false;
  const parsed = parseUri(uri, readOnly);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  // What the attempt has opened so far, so that a timeout can close it, even if it arrives later.
  const opened: { transport: Transport | null; rpc: RpcClient | null; abandoned: boolean } = {
    transport: null,
    rpc: null,
    abandoned: false,
  };

  const handshake = async (): Promise<LibvirtConnection> => {
    const transport = await openTransport(parsed, options, timeoutMs);
    if (opened.abandoned) {
      transport.close();
      throw new LibvirtTransportError('CLOSED', `connecting to ${uri} was abandoned`);
    }
    opened.transport = transport;
    const rpc = (opened.rpc = new RpcClient(transport));
    await authenticate(rpc);
    await rpc.call(Proc.connectOpen, { name: parsed.name, flags: readOnly ? ConnectFlags.RO : 0 });
    const keepalive = options.keepalive ?? DEFAULT_KEEPALIVE;
    if (keepalive !== false) {
      // Ask the daemon to ping us too (it then drops us if we stop answering).
      await rpc.call(Proc.connectSupportsFeature, { feature: DriverFeature.PROGRAM_KEEPALIVE });
      rpc.startKeepalive(keepalive.intervalMs, keepalive.count);
    }
    return new RemoteConnection(uri, rpc);
  };

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new LibvirtTransportError(
          'TIMEOUT',
          `timed out after ${timeoutMs / 1000} s connecting to ${uri}`,
        ),
      );
    }, timeoutMs);
  });
  const attempt = handshake();
  try {
    return await Promise.race([attempt, timeout]);
  } catch (e) {
    opened.abandoned = true;
    attempt.catch(() => {}); // it fails too, once what it opened is closed below
    if (opened.rpc !== null) await opened.rpc.close();
    else opened.transport?.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function openTransport(
  parsed: ParsedUri,
  options: ConnectOptions,
  timeoutMs: number,
): Promise<Transport> {
  switch (parsed.transport) {
    case 'unix':
      return openSocket({ path: parsed.socket });
    case 'tcp':
      return openSocket({ host: parsed.host, port: parsed.port });
    case 'ssh': {
      const ssh = options.ssh ?? {};
      const command = ssh.command ?? parsed.command;
      return Promise.resolve(
        openSsh(
          {
            host: parsed.host,
            ...(parsed.user !== undefined ? { user: parsed.user } : {}),
            ...(parsed.port !== undefined ? { port: parsed.port } : {}),
            ...(parsed.keyFile !== undefined ? { keyFile: parsed.keyFile } : {}),
            remoteUri: parsed.name,
            remoteSocket: parsed.socket,
            helper: ssh.helper ?? parsed.helper,
          },
          {
            ...(ssh.configFile !== undefined ? { configFile: ssh.configFile } : {}),
            ...(ssh.extraArgs !== undefined ? { extraArgs: ssh.extraArgs } : {}),
            ...(command !== undefined ? { command } : {}),
            connectTimeoutMs: timeoutMs,
          },
        ),
      );
    }
  }
}

/** AUTH_LIST, then the one method we can do without credentials: none or polkit. */
async function authenticate(rpc: RpcClient): Promise<void> {
  const { types } = await rpc.call(Proc.authList, undefined);
  if (types.length === 0 || types.includes(AuthType.NONE)) return;
  if (types.includes(AuthType.POLKIT)) {
    const { complete } = await rpc.call(Proc.authPolkit, undefined);
    if (complete !== 1) {
      throw new LibvirtTransportError(
        'AUTH_UNSUPPORTED',
        `polkit authentication at ${rpc.peer} did not complete`,
      );
    }
    return;
  }
  throw new LibvirtTransportError(
    'AUTH_UNSUPPORTED',
    `libvirtd at ${rpc.peer} requires SASL authentication, which this client does not support (use ssh or a socket with auth "none"/"polkit")`,
  );
}

const toDomain = (d: DomainRef): DomainRef => ({ name: d.name, uuid: d.uuid, id: d.id });

function migrateParamsToTyped(params: MigrateParams): TypedParam[] {
  const out: TypedParam[] = [];
  const str = (field: string, v: string | undefined): void => {
    if (v !== undefined) out.push({ field, value: { tag: TypedParamType.STRING, value: v } });
  };
  str('destination_name', params.destination_name);
  str('destination_xml', params.destination_xml);
  str('persistent_xml', params.persistent_xml);
  str('migrate_uri', params.uri);
  str('listen_address', params.listen_address);
  // Several disks: the same field repeated, as libvirt's virTypedParamsAddStringList does.
  for (const disk of params.migrate_disks ?? []) str('migrate_disks', disk);
  if (params.bandwidth !== undefined) {
    out.push({
      field: 'bandwidth',
      value: { tag: TypedParamType.ULLONG, value: params.bandwidth },
    });
  }
  if (params.disks_port !== undefined) {
    out.push({ field: 'disks_port', value: { tag: TypedParamType.INT, value: params.disks_port } });
  }
  if (params.parallel_connections !== undefined) {
    out.push({
      field: 'parallel.connections',
      value: { tag: TypedParamType.INT, value: params.parallel_connections },
    });
  }
  return out;
}

class RemoteConnection implements LibvirtConnection {
  private readonly lifecycleListeners = new Map<number, (event: LifecycleEvent) => void>();

  constructor(
    readonly uri: string,
    private readonly rpc: RpcClient,
  ) {
    rpc.onEvent(EventProc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, (body) => {
      const m = decode(lifecycleMsg, body);
      const listener = this.lifecycleListeners.get(m.callbackID);
      const event = { domain: toDomain(m.msg.dom), event: m.msg.event, detail: m.msg.detail };
      // Outside the packet parser: a listener that throws must not break the connection.
      if (listener !== undefined) queueMicrotask(() => listener(event));
    });
  }

  call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R> {
    return this.rpc.call(procedure, args);
  }

  async close(): Promise<void> {
    if (this.rpc.closedReason !== null) return;
    // Tell the daemon first so it releases the connection cleanly; a daemon already gone, or
    // one that does not answer within CLOSE_TIMEOUT_MS, is fine: we close our end anyway.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.rpc.call(Proc.connectClose, undefined).catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    await this.rpc.close();
  }

  onClose(listener: (err: LibvirtTransportError) => void): void {
    this.rpc.onClose(listener);
  }

  // --- host ---

  async getHostname(): Promise<string> {
    return (await this.rpc.call(Proc.connectGetHostname, undefined)).hostname;
  }

  async getLibVersion(): Promise<bigint> {
    return (await this.rpc.call(Proc.connectGetLibVersion, undefined)).lib_ver;
  }

  async getNodeInfo(): Promise<NodeInfo> {
    const r = await this.rpc.call(Proc.nodeGetInfo, undefined);
    const end = r.model.indexOf(0);
    const model = String.fromCharCode(
      ...(end >= 0 ? r.model.slice(0, end) : r.model).map((c) => c & 0xff),
    );
    return {
      model,
      memoryBytes: r.memory * 1024n, // libvirt reports KiB
      cpus: r.cpus,
      mhz: r.mhz,
      nodes: r.nodes,
      sockets: r.sockets,
      cores: r.cores,
      threads: r.threads,
    };
  }

  async getCapabilities(): Promise<string> {
    return (await this.rpc.call(Proc.connectGetCapabilities, undefined)).capabilities;
  }

  async getFreeMemory(): Promise<bigint> {
    return (await this.rpc.call(Proc.nodeGetFreeMemory, undefined)).freeMem;
  }

  // --- domains ---

  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    const r = await this.rpc.call(Proc.connectListAllDomains, { need_results: 1, flags });
    return r.domains.map(toDomain);
  }

  async getAllDomainStats(stats: number, flags = 0): Promise<DomainStatsRecord[]> {
    const r = await this.rpc.call(Proc.connectGetAllDomainStats, { doms: [], stats, flags });
    return r.retStats.map((rec) => ({
      domain: toDomain(rec.dom),
      params: typedParamsToMap(rec.params),
    }));
  }

  async lookupDomainByName(name: string): Promise<DomainRef> {
    return toDomain((await this.rpc.call(Proc.domainLookupByName, { name })).dom);
  }

  async getDomainInfo(domain: DomainRef): Promise<DomainInfo> {
    const r = await this.rpc.call(Proc.domainGetInfo, { dom: domain });
    return {
      state: domainStateName(r.state),
      maxMemoryBytes: r.maxMem * 1024n,
      memoryBytes: r.memory * 1024n,
      vcpus: r.nrVirtCpu,
      cpuTimeNs: r.cpuTime,
    };
  }

  async getDomainState(domain: DomainRef): Promise<{ state: DomainState; reason: number }> {
    const r = await this.rpc.call(Proc.domainGetState, { dom: domain, flags: 0 });
    return { state: domainStateName(r.state), reason: r.reason };
  }

  async isDomainActive(domain: DomainRef): Promise<boolean> {
    return (await this.rpc.call(Proc.domainIsActive, { dom: domain })).active !== 0;
  }

  async getDomainXml(domain: DomainRef, flags = 0): Promise<string> {
    return (await this.rpc.call(Proc.domainGetXmlDesc, { dom: domain, flags })).xml;
  }

  async defineDomainXml(xml: string, flags = 0): Promise<DomainRef> {
    return toDomain((await this.rpc.call(Proc.domainDefineXmlFlags, { xml, flags })).dom);
  }

  async createDomain(domain: DomainRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.domainCreateWithFlags, { dom: domain, flags });
  }

  async shutdownDomain(domain: DomainRef): Promise<void> {
    await this.rpc.call(Proc.domainShutdown, { dom: domain });
  }

  async rebootDomain(domain: DomainRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.domainReboot, { dom: domain, flags });
  }

  async destroyDomain(domain: DomainRef): Promise<void> {
    await this.rpc.call(Proc.domainDestroy, { dom: domain });
  }

  async undefineDomain(domain: DomainRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.domainUndefineFlags, { dom: domain, flags });
  }

  async getDomainAutostart(domain: DomainRef): Promise<boolean> {
    return (await this.rpc.call(Proc.domainGetAutostart, { dom: domain })).autostart !== 0;
  }

  async setDomainAutostart(domain: DomainRef, autostart: boolean): Promise<void> {
    await this.rpc.call(Proc.domainSetAutostart, { dom: domain, autostart: autostart ? 1 : 0 });
  }

  async getDomainInterfaceAddresses(
    domain: DomainRef,
    source: 'lease' | 'agent' | 'arp',
  ): Promise<InterfaceAddresses[]> {
    const r = await this.rpc.call(Proc.domainInterfaceAddresses, {
      dom: domain,
      source: InterfaceAddressesSource[source],
      flags: 0,
    });
    return r.ifaces.map((i) => ({
      name: i.name,
      hwaddr: i.hwaddr,
      addrs: i.addrs.map((a) => ({
        type: a.type === 1 ? ('ipv6' as const) : ('ipv4' as const),
        addr: a.addr,
        prefix: a.prefix,
      })),
    }));
  }

  async migrateToUri3(
    domain: DomainRef,
    destinationUri: string,
    params: MigrateParams,
    flags: number,
  ): Promise<void> {
    await this.rpc.call(Proc.domainMigratePerform3Params, {
      dom: domain,
      dconnuri: destinationUri,
      params: migrateParamsToTyped(params),
      cookie_in: new Uint8Array(0),
      flags,
    });
  }

  async getJobInfo(domain: DomainRef): Promise<JobInfo> {
    const r = await this.rpc.call(Proc.domainGetJobInfo, { dom: domain });
    return {
      type: r.type,
      dataTotal: r.dataTotal,
      dataProcessed: r.dataProcessed,
      dataRemaining: r.dataRemaining,
    };
  }

  async abortDomainJob(domain: DomainRef): Promise<void> {
    await this.rpc.call(Proc.domainAbortJob, { dom: domain });
  }

  openConsole(domain: DomainRef, devName: string | null = null, flags = 0): Promise<LibvirtStream> {
    return this.openStream(Proc.domainOpenConsole, { dom: domain, dev_name: devName, flags });
  }

  private async openStream<A>(procedure: Procedure<A, void>, args: A): Promise<LibvirtStream> {
    const stream = new LibvirtStream(this.rpc, procedure);
    const { serial, reply } = this.rpc.callWithStream(procedure, args, stream);
    stream.attach(serial);
    try {
      await reply;
    } catch (e) {
      this.rpc.removeStream(serial);
      throw e;
    }
    return stream;
  }

  // --- networks ---

  async listAllNetworks(flags = 0): Promise<NetworkRef[]> {
    return (await this.rpc.call(Proc.connectListAllNetworks, { need_results: 1, flags })).nets;
  }

  // --- storage ---

  async listAllStoragePools(flags = 0): Promise<StoragePoolRef[]> {
    return (await this.rpc.call(Proc.connectListAllStoragePools, { need_results: 1, flags })).pools;
  }

  async lookupStoragePoolByName(name: string): Promise<StoragePoolRef> {
    return (await this.rpc.call(Proc.storagePoolLookupByName, { name })).pool;
  }

  async lookupStoragePoolByTargetPath(path: string): Promise<StoragePoolRef> {
    return (await this.rpc.call(Proc.storagePoolLookupByTargetPath, { path })).pool;
  }

  async defineStoragePoolXml(xml: string): Promise<StoragePoolRef> {
    return (await this.rpc.call(Proc.storagePoolDefineXml, { xml, flags: 0 })).pool;
  }

  async buildStoragePool(pool: StoragePoolRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.storagePoolBuild, { pool, flags });
  }

  async createStoragePool(pool: StoragePoolRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.storagePoolCreate, { pool, flags });
  }

  async destroyStoragePool(pool: StoragePoolRef): Promise<void> {
    await this.rpc.call(Proc.storagePoolDestroy, { pool });
  }

  async undefineStoragePool(pool: StoragePoolRef): Promise<void> {
    await this.rpc.call(Proc.storagePoolUndefine, { pool });
  }

  async setStoragePoolAutostart(pool: StoragePoolRef, autostart: boolean): Promise<void> {
    await this.rpc.call(Proc.storagePoolSetAutostart, { pool, autostart: autostart ? 1 : 0 });
  }

  async refreshStoragePool(pool: StoragePoolRef): Promise<void> {
    await this.rpc.call(Proc.storagePoolRefresh, { pool, flags: 0 });
  }

  async getStoragePoolInfo(pool: StoragePoolRef): Promise<StoragePoolInfo> {
    return await this.rpc.call(Proc.storagePoolGetInfo, { pool });
  }

  async listAllStorageVols(pool: StoragePoolRef): Promise<StorageVolRef[]> {
    return (
      await this.rpc.call(Proc.storagePoolListAllVolumes, { pool, need_results: 1, flags: 0 })
    ).vols;
  }

  async createStorageVolXml(pool: StoragePoolRef, xml: string, flags = 0): Promise<StorageVolRef> {
    return (await this.rpc.call(Proc.storageVolCreateXml, { pool, xml, flags })).vol;
  }

  async lookupStorageVolByPath(path: string): Promise<StorageVolRef> {
    return (await this.rpc.call(Proc.storageVolLookupByPath, { path })).vol;
  }

  async lookupStorageVolByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef> {
    return (await this.rpc.call(Proc.storageVolLookupByName, { pool, name })).vol;
  }

  async getStorageVolPath(vol: StorageVolRef): Promise<string> {
    return (await this.rpc.call(Proc.storageVolGetPath, { vol })).name;
  }

  async getStorageVolInfo(vol: StorageVolRef): Promise<StorageVolInfo> {
    return await this.rpc.call(Proc.storageVolGetInfo, { vol });
  }

  async deleteStorageVol(vol: StorageVolRef, flags = 0): Promise<void> {
    await this.rpc.call(Proc.storageVolDelete, { vol, flags });
  }

  uploadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags = 0,
  ): Promise<LibvirtStream> {
    return this.openStream(Proc.storageVolUpload, { vol, offset, length, flags });
  }

  downloadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags = 0,
  ): Promise<LibvirtStream> {
    return this.openStream(Proc.storageVolDownload, { vol, offset, length, flags });
  }

  // --- events ---

  async onDomainLifecycle(listener: (event: LifecycleEvent) => void): Promise<() => Promise<void>> {
    const { callbackID } = await this.rpc.call(Proc.connectDomainEventCallbackRegisterAny, {
      eventID: DomainEventId.LIFECYCLE,
      dom: null,
    });
    this.lifecycleListeners.set(callbackID, listener);
    return async () => {
      if (!this.lifecycleListeners.delete(callbackID)) return;
      if (this.rpc.closedReason !== null) return;
      await this.rpc.call(Proc.connectDomainEventCallbackDeregisterAny, { callbackID });
    };
  }
}
