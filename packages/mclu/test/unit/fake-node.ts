// A small in-memory stand-in for one node's libvirt connection, for fast unit tests of the
// logic above the connection (the real thing is tested in test/integration).
import { PassThrough } from 'node:stream';
import type {
  DomainRef,
  DomainState,
  DomainStatsRecord,
  LibvirtStream,
  NodeApi,
  StoragePoolRef,
  StorageVolRef,
} from '../../src/node-api.js';
import { DOMAIN_STATES, ListNetworksFlags, type NetworkRef, StreamHole } from '@tsvirt/libvirt';
import { child, parseXml, text } from '../../src/xml.js';

export class FakeLibvirtError extends Error {
  readonly code: number;
  readonly codeName: string;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
    this.codeName = `ERR_${code}`;
  }
}

export interface FakeDomain {
  name: string;
  uuid?: string | undefined;
  state: DomainState;
  vcpus: number;
  memoryKiB: number;
  xml: string;
}

function notUsed(): never {
  throw new Error('not used by this test');
}

export class FakeNode implements NodeApi {
  readonly uri: string;
  domains: FakeDomain[] = [];
  volumes = new Map<string, { vol: StorageVolRef; bytes: Buffer[] }>();
  pools: { ref: StoragePoolRef; path: string; active: boolean }[] = [];
  calls: string[] = [];
  closed = false;
  failDefine = false;
  failStart = false;
  networks: { ref: NetworkRef; active: boolean }[] = [];
  arch = 'x86_64';
  poolAvailable = 100n << 30n;
  domainTypes = ['qemu', 'kvm'];
  cpus = 8;
  memoryBytes = 16n << 30n;
  freeBytes = 8n << 30n;

  constructor(uri: string) {
    this.uri = uri;
  }

  #find(ref: DomainRef): FakeDomain {
    const d = this.domains.find((x) => x.name === ref.name);
    if (d === undefined)
      throw new FakeLibvirtError(
        42,
        `Domain not found: no domain with matching name '${ref.name}'`,
      );
    return d;
  }
  #ref(d: FakeDomain): DomainRef {
    return {
      name: d.name,
      uuid: d.uuid ?? `00000000-0000-0000-0000-${d.name.padStart(12, '0').slice(-12)}`,
      id: d.state === 'running' ? 1 : -1,
    };
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  getNodeInfo() {
    return Promise.resolve({
      model: 'x86_64',
      memoryBytes: this.memoryBytes,
      cpus: this.cpus,
      mhz: 2000,
      nodes: 1,
      sockets: 1,
      cores: this.cpus,
      threads: 1,
    });
  }
  getCapabilities(): Promise<string> {
    const domains = this.domainTypes.map((t) => `<domain type='${t}'/>`).join('');
    return Promise.resolve(
      `<capabilities><host><cpu><arch>${this.arch}</arch></cpu></host><guest><os_type>hvm</os_type><arch name='${this.arch}'>${domains}</arch></guest></capabilities>`,
    );
  }
  listAllNetworks(flags = 0): Promise<NetworkRef[]> {
    return Promise.resolve(
      this.networks
        .filter((n) => !(flags & ListNetworksFlags.ACTIVE) || n.active)
        .map((n) => n.ref),
    );
  }
  abortDomainJob = notUsed;
  getFreeMemory(): Promise<bigint> {
    return Promise.resolve(this.freeBytes);
  }
  listAllDomains(): Promise<DomainRef[]> {
    return Promise.resolve(this.domains.map((d) => this.#ref(d)));
  }
  getAllDomainStats(): Promise<DomainStatsRecord[]> {
    return Promise.resolve(
      this.domains.map((d) => ({
        domain: this.#ref(d),
        params: new Map<string, number | bigint>([
          ['state.state', DOMAIN_STATES.indexOf(d.state)],
          ['balloon.current', BigInt(d.memoryKiB)],
          ['vcpu.current', d.vcpus],
        ]),
      })),
    );
  }
  lookupDomainByName(name: string): Promise<DomainRef> {
    return Promise.resolve().then(() => this.#ref(this.#find({ name, uuid: '', id: -1 })));
  }
  getDomainInfo(ref: DomainRef) {
    return Promise.resolve().then(() => {
      const d = this.#find(ref);
      return {
        state: d.state,
        maxMemoryBytes: BigInt(d.memoryKiB) * 1024n,
        memoryBytes: BigInt(d.memoryKiB) * 1024n,
        vcpus: d.vcpus,
        cpuTimeNs: 0n,
      };
    });
  }
  getDomainXml(ref: DomainRef): Promise<string> {
    return Promise.resolve().then(() => this.#find(ref).xml);
  }
  defineDomainXml(xml: string): Promise<DomainRef> {
    this.calls.push('define');
    if (this.failDefine)
      return Promise.reject(new FakeLibvirtError(27, 'XML error: refused by the fake'));
    const domain = parseXml(xml, 'domain');
    const name = text(child(domain, 'name')) ?? '';
    if (this.domains.some((x) => x.name === name))
      return Promise.reject(
        new FakeLibvirtError(9, `operation failed: domain '${name}' already exists`),
      );
    const d: FakeDomain = {
      name,
      uuid: text(child(domain, 'uuid')) ?? undefined,
      state: 'shut off',
      vcpus: Number(text(child(domain, 'vcpu')) ?? 1),
      memoryKiB: Number(text(child(domain, 'memory')) ?? 0),
      xml,
    };
    this.domains.push(d);
    return Promise.resolve(this.#ref(d));
  }
  createDomain(ref: DomainRef): Promise<void> {
    this.calls.push(`start ${ref.name}`);
    if (this.failStart)
      return Promise.reject(new FakeLibvirtError(1, 'internal error: qemu refused by the fake'));
    this.#find(ref).state = 'running';
    return Promise.resolve();
  }
  shutdownDomain(ref: DomainRef): Promise<void> {
    this.#find(ref).state = 'shut off';
    return Promise.resolve();
  }
  rebootDomain(): Promise<void> {
    return Promise.resolve();
  }
  destroyDomain(ref: DomainRef): Promise<void> {
    this.#find(ref).state = 'shut off';
    return Promise.resolve();
  }
  undefineDomain(ref: DomainRef): Promise<void> {
    this.calls.push(`undefine ${ref.name}`);
    this.domains = this.domains.filter((d) => d.name !== ref.name);
    return Promise.resolve();
  }
  getDomainAutostart(): Promise<boolean> {
    return Promise.resolve(false);
  }
  getDomainInterfaceAddresses() {
    return Promise.resolve([]);
  }
  migrateToUri3 = notUsed;
  getJobInfo = notUsed;
  openConsole = notUsed;
  downloadStorageVol = notUsed;
  listAllStoragePools(): Promise<StoragePoolRef[]> {
    return Promise.resolve(this.pools.map((p) => p.ref));
  }
  lookupStoragePoolByTargetPath(path: string): Promise<StoragePoolRef> {
    const pool = this.pools.find((p) => p.path === path);
    return pool
      ? Promise.resolve(pool.ref)
      : Promise.reject(new FakeLibvirtError(49, `Storage pool not found: ${path}`));
  }
  lookupStoragePoolByName(name: string): Promise<StoragePoolRef> {
    const pool = this.pools.find((p) => p.ref.name === name);
    return pool
      ? Promise.resolve(pool.ref)
      : Promise.reject(new FakeLibvirtError(49, `Storage pool not found: ${name}`));
  }
  defineStoragePoolXml(xml: string): Promise<StoragePoolRef> {
    const pool = parseXml(xml, 'pool');
    const ref = { name: text(child(pool, 'name')) ?? '', uuid: 'u' };
    this.pools.push({ ref, path: text(child(child(pool, 'target'), 'path')) ?? '', active: false });
    this.calls.push(`define pool ${ref.name}`);
    return Promise.resolve(ref);
  }
  buildStoragePool(): Promise<void> {
    return Promise.resolve();
  }
  createStoragePool(ref: StoragePoolRef): Promise<void> {
    const pool = this.pools.find((p) => p.ref.name === ref.name);
    if (pool) pool.active = true;
    return Promise.resolve();
  }
  setStoragePoolAutostart(): Promise<void> {
    return Promise.resolve();
  }
  refreshStoragePool(): Promise<void> {
    return Promise.resolve();
  }
  getStoragePoolInfo(ref: StoragePoolRef) {
    const active = this.pools.find((p) => p.ref.name === ref.name)?.active ?? false;
    return Promise.resolve({
      state: active ? 2 : 0,
      capacity: this.poolAvailable,
      allocation: 0n,
      available: this.poolAvailable,
    });
  }
  #path(vol: StorageVolRef): string {
    return `${this.pools.find((p) => p.ref.name === vol.pool)?.path ?? ''}/${vol.name}`;
  }
  createStorageVolXml(pool: StoragePoolRef, xml: string): Promise<StorageVolRef> {
    const name = text(child(parseXml(xml, 'volume'), 'name')) ?? '';
    const vol = { pool: pool.name, name, key: '' };
    vol.key = this.#path(vol);
    this.volumes.set(vol.key, { vol, bytes: [] });
    this.calls.push(`create vol ${name}`);
    return Promise.resolve(vol);
  }
  lookupStorageVolByPath(path: string): Promise<StorageVolRef> {
    const v = this.volumes.get(path);
    return v
      ? Promise.resolve(v.vol)
      : Promise.reject(new FakeLibvirtError(50, `Storage volume not found: ${path}`));
  }
  lookupStorageVolByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef> {
    return this.lookupStorageVolByPath(this.#path({ pool: pool.name, name, key: '' }));
  }
  getStorageVolPath(vol: StorageVolRef): Promise<string> {
    return Promise.resolve(vol.key);
  }
  getStorageVolInfo(vol: StorageVolRef) {
    const size = BigInt(Buffer.concat(this.volumes.get(vol.key)?.bytes ?? []).length);
    return Promise.resolve({ type: 0, capacity: size, allocation: size });
  }
  storageVolGetInfoFlags(vol: StorageVolRef) {
    return this.getStorageVolInfo(vol);
  }
  deleteStorageVol(vol: StorageVolRef): Promise<void> {
    this.calls.push(`delete vol ${vol.name}`);
    this.volumes.delete(vol.key);
    return Promise.resolve();
  }
  uploadStorageVol(vol: StorageVolRef): Promise<LibvirtStream> {
    // Object mode, as a sparse stream is: Buffers, and StreamHoles kept as their zeros.
    const stream = new PassThrough({ objectMode: true }) as unknown as LibvirtStream;
    const target = this.volumes.get(vol.key);
    stream.on('data', (chunk: Buffer | StreamHole) =>
      target?.bytes.push(chunk instanceof StreamHole ? Buffer.alloc(Number(chunk.length)) : chunk),
    );
    stream.finish = () =>
      new Promise<void>((resolve) =>
        stream.writableFinished ? resolve() : stream.once('finish', () => resolve()),
      );
    stream.abort = () => Promise.resolve();
    return Promise.resolve(stream);
  }
}
