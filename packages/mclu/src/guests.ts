// Finding a guest in the cluster, and what can be done to one that exists: lifecycle,
// details, deletion.
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import type { Cluster, OnlineSession } from './cluster.js';
import { parseDomainXml, type DiskDevice, type InterfaceDevice } from './domain-xml.js';
import { GuestError, messageOf, OperationError } from './errors.js';
import { ErrorCode, UndefineFlags } from '@tsvirt/libvirt';
import {
  libvirtErrorNumber,
  type DomainRef,
  type DomainState,
  type NodeApi,
  type StorageVolRef,
} from './node-api.js';
import { DISK_FORMATS, findImagesPool, findVolume } from './storage.js';

export interface GuestLocation {
  session: OnlineSession;
  domain: DomainRef;
}

/** Splits `NODE:NAME` (or plain `NAME`). */
export function parseGuestSpec(spec: string): { node: string | null; name: string } {
  const colon = spec.indexOf(':');
  return colon === -1
    ? { node: null, name: spec }
    : { node: spec.slice(0, colon), name: spec.slice(colon + 1) };
}

/** Looks a guest name up on the given node, or on every reachable node in parallel. */
export async function findGuests(
  cluster: Cluster,
  name: string,
  nodeName: string | null = null,
): Promise<GuestLocation[]> {
  const sessions = nodeName === null ? cluster.online() : [cluster.session(nodeName)];
  const found = await Promise.all(
    sessions.map(async (session) => {
      try {
        return [{ session, domain: await session.api.lookupDomainByName(name) }];
      } catch (error) {
        if (libvirtErrorNumber(error) === ErrorCode.NO_DOMAIN) return [];
        throw error;
      }
    }),
  );
  return found.flat();
}

/** The one guest `spec` names; clear errors when it is missing or ambiguous. */
export async function findGuest(cluster: Cluster, spec: string): Promise<GuestLocation> {
  const { node, name } = parseGuestSpec(spec);
  const found = await findGuests(cluster, name, node);
  const [only, ...others] = found;
  if (only === undefined) {
    const off = node === null ? cluster.offline().map((s) => s.node.name) : [];
    const where = node === null ? 'on any reachable node' : `on node ${node}`;
    throw new GuestError(
      'UNKNOWN_GUEST',
      name,
      `no guest named ${JSON.stringify(name)} ${where}` +
        (off.length > 0 ? ` (not asked, unreachable: ${off.join(', ')})` : '') +
        '; `mclu list --all` shows the guests',
    );
  }
  if (others.length > 0) {
    const nodes = found.map((g) => g.session.node.name);
    throw new GuestError(
      'GUEST_AMBIGUOUS',
      name,
      `guest ${name} exists on several nodes (${nodes.join(', ')}); name one as NODE:${name}`,
    );
  }
  return only;
}

export type LifecycleAction = 'start' | 'shutdown' | 'reboot' | 'destroy';

/** Runs one lifecycle action; returns the state afterwards. */
export async function lifecycle(
  guest: GuestLocation,
  action: LifecycleAction,
): Promise<DomainState> {
  const { api } = guest.session;
  const before = (await api.getDomainInfo(guest.domain)).state;
  const running = before !== 'shut off' && before !== 'crashed';
  if (action === 'start' && running) throw stateError(guest, `is already ${before}`, '');
  if (action !== 'start' && !running)
    throw stateError(
      guest,
      'is not running',
      `; start it with \`mclu start ${guest.domain.name}\``,
    );
  try {
    switch (action) {
      case 'start':
        await api.createDomain(guest.domain, 0);
        break;
      case 'shutdown':
        await api.shutdownDomain(guest.domain);
        break;
      case 'reboot':
        await api.rebootDomain(guest.domain, 0);
        break;
      case 'destroy':
        await api.destroyDomain(guest.domain);
        break;
    }
  } catch (error) {
    throw new OperationError(
      'OPERATION_FAILED',
      `${action} ${guest.domain.name} on ${guest.session.node.name}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  return (await api.getDomainInfo(guest.domain)).state;
}

function stateError(guest: GuestLocation, what: string, hint: string): GuestError {
  return new GuestError(
    'GUEST_STATE',
    guest.domain.name,
    `guest ${guest.domain.name} on ${guest.session.node.name} ${what}${hint}`,
  );
}

/** Polls until the guest is in state `wanted` or the time is up; returns the last state seen. */
export async function waitForState(
  guest: GuestLocation,
  wanted: DomainState,
  timeoutMs: number,
): Promise<DomainState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { state } = await guest.session.api.getDomainInfo(guest.domain);
    if (state === wanted || Date.now() >= deadline) return state;
    await sleep(250);
  }
}

export interface GuestInfo {
  name: string;
  uuid: string;
  node: string;
  state: DomainState;
  vcpus: number;
  memoryBytes: bigint;
  maxMemoryBytes: bigint;
  cpuTimeNs: bigint;
  autostart: boolean;
  disks: (DiskDevice & { capacityBytes: bigint | null; allocationBytes: bigint | null })[];
  interfaces: (InterfaceDevice & { addresses: string[] })[];
  consoles: string[];
  graphics: { type: string; port: string | null; listen: string | null }[];
}

/** Everything `info` shows. Disk sizes and IP addresses are best effort: a missing volume
 *  or a guest without a lease simply has none. */
export async function guestInfo(guest: GuestLocation): Promise<GuestInfo> {
  const { api } = guest.session;
  const [info, xml, autostart] = await Promise.all([
    api.getDomainInfo(guest.domain),
    api.getDomainXml(guest.domain, 0),
    api.getDomainAutostart(guest.domain),
  ]);
  const parsed = parseDomainXml(xml);
  const running = info.state === 'running' || info.state === 'paused';
  const addresses = running
    ? await api.getDomainInterfaceAddresses(guest.domain, 'lease').catch(() => [])
    : [];
  const disks = await Promise.all(
    parsed.disks.map(async (disk) => {
      const sizes = disk.source?.startsWith('/')
        ? await api
            .lookupStorageVolByPath(disk.source)
            .then((vol) => api.getStorageVolInfo(vol))
            .catch(() => null)
        : null;
      return {
        ...disk,
        capacityBytes: sizes?.capacity ?? null,
        allocationBytes: sizes?.allocation ?? null,
      };
    }),
  );
  return {
    name: guest.domain.name,
    uuid: guest.domain.uuid,
    node: guest.session.node.name,
    state: info.state,
    vcpus: info.vcpus,
    memoryBytes: info.memoryBytes,
    maxMemoryBytes: info.maxMemoryBytes,
    cpuTimeNs: info.cpuTimeNs,
    autostart,
    disks,
    interfaces: parsed.interfaces.map((iface) => ({
      ...iface,
      addresses: addresses
        .filter((a) => a.hwaddr !== null && a.hwaddr.toLowerCase() === iface.mac?.toLowerCase())
        .flatMap((a) => a.addrs.map((x) => `${x.addr}/${x.prefix}`)),
    })),
    consoles: parsed.consoles,
    graphics: parsed.graphics,
  };
}

export interface DeleteResult {
  removedDisks: string[];
  /** Disks that are not libvirt volumes, or that could not be removed, with the reason. */
  keptDisks: { path: string; reason: string }[];
  /** Disks named by the guest that did not exist (an interrupted boot's guest has none). */
  absentDisks: string[];
}

/** Stops (hard) and undefines the guest, then removes its disks (the volumes named by
 *  its XML). A disk that is not a volume is left alone and reported; one that would be in
 *  the images directory but is not there is reported as absent. */
export async function deleteGuest(guest: GuestLocation, images: string): Promise<DeleteResult> {
  const { api } = guest.session;
  const xml = await api.getDomainXml(guest.domain, 0);
  const { disks } = parseDomainXml(xml);
  const info = await api.getDomainInfo(guest.domain);
  if (info.state !== 'shut off') await api.destroyDomain(guest.domain).catch(() => undefined);
  await api.undefineDomain(
    guest.domain,
    UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM,
  );
  const result: DeleteResult = { removedDisks: [], keptDisks: [], absentDisks: [] };
  for (const disk of disks) {
    if (disk.device !== 'disk' || disk.source === null) continue;
    try {
      const vol = disk.volume
        ? await api.lookupStorageVolByName(
            await api.lookupStoragePoolByName(disk.volume.pool),
            disk.volume.name,
          )
        : await api.lookupStorageVolByPath(disk.source);
      await api.deleteStorageVol(vol, 0);
      result.removedDisks.push(disk.source);
    } catch (error) {
      if (libvirtErrorNumber(error) === ErrorCode.NO_STORAGE_VOL && dirname(disk.source) === images)
        result.absentDisks.push(disk.source);
      else result.keptDisks.push({ path: disk.source, reason: messageOf(error) });
    }
  }
  return result;
}

/** A volume named like a boot's disk (NAME.qcow2, NAME.raw) that no guest of its node
 *  uses: what an interrupted boot, or a failed migration, leaves. */
export interface LoneVolume {
  session: OnlineSession;
  vol: StorageVolRef;
  path: string;
}

/** The lone volumes of `name` on the node given, or on every reachable node. */
export async function findLoneVolumes(
  cluster: Cluster,
  name: string,
  nodeName: string | null,
): Promise<LoneVolume[]> {
  const sessions = nodeName === null ? cluster.online() : [cluster.session(nodeName)];
  const found = await Promise.all(
    sessions.map(async (session): Promise<LoneVolume[]> => {
      const { api } = session;
      const pool = await findImagesPool(api, cluster.config.defaults.images);
      if (pool === null) return [];
      await api.refreshStoragePool(pool);
      const volumes: LoneVolume[] = [];
      for (const format of DISK_FORMATS) {
        const vol = await findVolume(api, pool, `${name}.${format}`);
        if (vol !== null) volumes.push({ session, vol, path: await api.getStorageVolPath(vol) });
      }
      if (volumes.length === 0) return [];
      const used = await disksInUse(api);
      return volumes.filter((v) => !used.has(v.path));
    }),
  );
  return found.flat();
}

/** Every disk path a guest of the node names. */
async function disksInUse(api: NodeApi): Promise<Set<string>> {
  const domains = await api.listAllDomains(0);
  const xmls = await Promise.all(domains.map((d) => api.getDomainXml(d, 0)));
  return new Set(
    xmls.flatMap((xml) => parseDomainXml(xml).disks.flatMap((d) => (d.source ? [d.source] : []))),
  );
}

export async function deleteLoneVolumes(volumes: readonly LoneVolume[]): Promise<string[]> {
  for (const { session, vol } of volumes) await session.api.deleteStorageVol(vol, 0);
  return volumes.map((v) => `${v.path} on ${v.session.node.name}`);
}
