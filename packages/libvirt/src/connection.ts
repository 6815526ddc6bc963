import { LibvirtTransportError } from './errors.js';
import { ConnectFlags, DrvFeature } from './constants.generated.js';
import { EVENT_TABLES, type EventFamily, EventHub, type Unsubscribe } from './events.js';
import type {
  DomainEvents,
  NetworkEvents,
  NodeDeviceEvents,
  SecretEvents,
  StoragePoolEvents,
} from './events.generated.js';
import type { Flags } from './flags.js';
import type { Procedure } from './protocol/procedure.js';
import { Proc } from './protocol/procedures.generated.js';
import { AuthType } from './protocol/remote.generated.js';
import type * as t from './protocol/remote.generated.js';
import { RpcClient } from './rpc/client.js';
import { Shortcuts } from './shortcuts.js';
import { LibvirtStream } from './stream.js';
import { openSocket } from './transport/socket.js';
import { openSsh } from './transport/ssh.js';
import type { Transport } from './transport/transport.js';
import { type TypedParams, type TypedParamsInput, fromTypedParams } from './typed-params.js';
import type { DomainStatsRecord, LifecycleEvent, MigrateParams } from './types.js';
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
      await rpc.call(Proc.connectSupportsFeature, { feature: DrvFeature.PROGRAM_KEEPALIVE });
      rpc.startKeepalive(keepalive.intervalMs, keepalive.count);
    }
    return new LibvirtConnection(uri, rpc);
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
  if (types.length === 0 || types.includes(AuthType.REMOTE_AUTH_NONE)) return;
  if (types.includes(AuthType.REMOTE_AUTH_POLKIT)) {
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

/** Migration parameters as libvirt's typed parameters, with the types libvirt checks. */
function migrateParamsToTyped(params: MigrateParams): TypedParamsInput {
  const out: Record<string, TypedParamsInput[string]> = {};
  const set = (field: string, value: TypedParamsInput[string] | undefined): void => {
    if (value !== undefined) out[field] = value;
  };
  set('destination_name', params.destination_name);
  set('destination_xml', params.destination_xml);
  set('persistent_xml', params.persistent_xml);
  set('migrate_uri', params.uri);
  set('listen_address', params.listen_address);
  // Several disks: the field repeated, as libvirt's virTypedParamsAddStringList does.
  set('migrate_disks', params.migrate_disks);
  if (params.bandwidth !== undefined) set('bandwidth', { type: 'ullong', value: params.bandwidth });
  if (params.disks_port !== undefined) set('disks_port', { type: 'int', value: params.disks_port });
  if (params.parallel_connections !== undefined) {
    set('parallel.connections', { type: 'int', value: params.parallel_connections });
  }
  return out;
}

/**
 * A connection to libvirtd: every procedure of the remote program as a typed method
 * (methods.generated.ts, e.g. domainGetXmlDesc), the short forms a cluster manager uses
 * (shortcuts.ts, e.g. getDomainXml), events of every kind (onDomainEvent...), and what needs
 * more than one call or a choice: typed parameters per record or per CPU, and migration.
 */
export class LibvirtConnection extends Shortcuts {
  private readonly events: EventHub;

  /** @internal use connect() */
  constructor(
    readonly uri: string,
    private readonly rpc: RpcClient,
  ) {
    super();
    this.events = new EventHub(rpc);
  }

  call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R> {
    return this.rpc.call(procedure, args);
  }

  /** Bytes sent to the daemon so far, packet headers included (a sparse upload's cost). */
  get bytesSent(): number {
    return this.rpc.bytesSent;
  }

  /** Bytes received from the daemon so far, packet headers included. */
  get bytesReceived(): number {
    return this.rpc.bytesReceived;
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

  /** Called once when the connection ends: with why it was lost, or code CLOSED after close(). */
  onClose(listener: (err: LibvirtTransportError) => void): void {
    this.rpc.onClose(listener);
  }

  protected async openStream<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    sparse: boolean,
  ): Promise<{ stream: LibvirtStream; result: R }> {
    const stream = new LibvirtStream(this.rpc, procedure, sparse);
    const { serial, reply } = this.rpc.callWithStream(procedure, args, stream);
    stream.attach(serial);
    try {
      return { stream, result: await reply };
    } catch (e) {
      this.rpc.removeStream(serial);
      throw e;
    }
  }

  // --- typed parameters beyond the generated getters ---

  /**
   * Statistics of the given domains (none: all, filtered by `flags`), one round trip:
   * virConnectGetAllDomainStats / virDomainListGetStats. `stats` from DomainStatsTypes.
   */
  async connectGetAllDomainStats(
    domains: readonly t.DomainRef[],
    stats: Flags,
    flags: Flags = 0,
  ): Promise<DomainStatsRecord[]> {
    const r = await this.call(Proc.connectGetAllDomainStats, { doms: [...domains], stats, flags });
    return r.retStats.map((rec) => ({ domain: rec.dom, params: fromTypedParams(rec.params) }));
  }

  getAllDomainStats(stats: Flags, flags: Flags = 0): Promise<DomainStatsRecord[]> {
    return this.connectGetAllDomainStats([], stats, flags);
  }

  /**
   * CPU usage of a domain (virDomainGetCPUStats): with `startCpu` -1 the domain's total (one
   * set), else one set per CPU from `startCpu`, `ncpus` of them (fewer when the host has fewer).
   */
  async domainGetCpuStats(
    domain: t.DomainRef,
    startCpu: number,
    ncpus: number,
    flags: Flags = 0,
  ): Promise<TypedParams[]> {
    // The number of values per CPU first, as virsh asks it; then the values, ncpus sets of at
    // most that many, each CPU's set as long as the reply's count.
    const args = { dom: domain, startCpu, flags };
    const { nparams } = await this.call(Proc.domainGetCpuStats, { ...args, nparams: 0, ncpus: 1 });
    if (nparams === 0) return [];
    const r = await this.call(Proc.domainGetCpuStats, { ...args, nparams, ncpus });
    const sets: TypedParams[] = [];
    for (let at = 0; at < r.params.length && r.nparams > 0; at += r.nparams) {
      sets.push(fromTypedParams(r.params.slice(at, at + r.nparams)));
    }
    return sets;
  }

  // --- migration ---

  /** Peer-to-peer live migration driven by the source daemon (use MigrateFlags.PEER2PEER). */
  async migrateToUri3(
    domain: t.DomainRef,
    destinationUri: string,
    params: MigrateParams,
    flags: Flags,
  ): Promise<void> {
    await this.domainMigratePerform3Params(
      domain,
      destinationUri,
      migrateParamsToTyped(params),
      new Uint8Array(0),
      flags,
    );
  }

  // --- events ---

  /**
   * Listens to one kind of domain event, of one domain or of all, e.g.
   * `onDomainEvent('lifecycle', (e) => console.log(e.domain.name, e.event))`; resolves, once
   * the daemon has registered it, to the function that stops it.
   */
  onDomainEvent<K extends keyof DomainEvents>(
    event: K,
    listener: (event: DomainEvents[K]) => void,
    domain: t.DomainRef | null = null,
  ): Promise<Unsubscribe> {
    return this.listen('domain', event, listener, {
      register: (eventID) =>
        this.call(Proc.connectDomainEventCallbackRegisterAny, { eventID, dom: domain }),
      deregister: Proc.connectDomainEventCallbackDeregisterAny,
    });
  }

  /** Lifecycle events of every domain; resolves to a function that unsubscribes. */
  onDomainLifecycle(listener: (event: LifecycleEvent) => void): Promise<Unsubscribe> {
    return this.onDomainEvent('lifecycle', listener);
  }

  /** Listens to one kind of network event, of one network or of all. */
  onNetworkEvent<K extends keyof NetworkEvents>(
    event: K,
    listener: (event: NetworkEvents[K]) => void,
    network: t.NetworkRef | null = null,
  ): Promise<Unsubscribe> {
    return this.listen('network', event, listener, {
      register: (eventID) =>
        this.call(Proc.connectNetworkEventRegisterAny, { eventID, net: network }),
      deregister: Proc.connectNetworkEventDeregisterAny,
    });
  }

  /** Listens to one kind of storage pool event, of one pool or of all. */
  onStoragePoolEvent<K extends keyof StoragePoolEvents>(
    event: K,
    listener: (event: StoragePoolEvents[K]) => void,
    pool: t.StoragePoolRef | null = null,
  ): Promise<Unsubscribe> {
    return this.listen('storagePool', event, listener, {
      register: (eventID) => this.call(Proc.connectStoragePoolEventRegisterAny, { eventID, pool }),
      deregister: Proc.connectStoragePoolEventDeregisterAny,
    });
  }

  /** Listens to one kind of node device event, of one device or of all. */
  onNodeDeviceEvent<K extends keyof NodeDeviceEvents>(
    event: K,
    listener: (event: NodeDeviceEvents[K]) => void,
    device: t.NodeDeviceRef | null = null,
  ): Promise<Unsubscribe> {
    return this.listen('nodeDevice', event, listener, {
      register: (eventID) =>
        this.call(Proc.connectNodeDeviceEventRegisterAny, { eventID, dev: device }),
      deregister: Proc.connectNodeDeviceEventDeregisterAny,
    });
  }

  /** Listens to one kind of secret event, of one secret or of all. */
  onSecretEvent<K extends keyof SecretEvents>(
    event: K,
    listener: (event: SecretEvents[K]) => void,
    secret: t.SecretRef | null = null,
  ): Promise<Unsubscribe> {
    return this.listen('secret', event, listener, {
      register: (eventID) => this.call(Proc.connectSecretEventRegisterAny, { eventID, secret }),
      deregister: Proc.connectSecretEventDeregisterAny,
    });
  }

  private listen<F extends EventFamily>(
    family: F,
    event: keyof (typeof EVENT_TABLES)[F],
    listener: (event: never) => void,
    how: {
      register: (eventID: number) => Promise<{ callbackID: number }>;
      deregister: Procedure<{ callbackID: number }, void>;
    },
  ): Promise<Unsubscribe> {
    const { id } = EVENT_TABLES[family][event] as { id: number };
    return this.events.listen(
      family,
      listener as (event: unknown) => void,
      async () => (await how.register(id)).callbackID,
      (callbackID) => this.call(how.deregister, { callbackID }),
    );
  }
}
