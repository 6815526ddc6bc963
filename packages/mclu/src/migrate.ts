// `migrate GUEST NODE`: a running guest moves live (peer to peer, driven by the source
// daemon, disks copied because node storage is not shared); a stopped guest is moved
// offline (disks streamed node to node through the two libvirt connections, then the
// definition). Either way the guest ends on the target only.
import type { Cluster, OnlineSession } from './cluster.js';
import { escapeXml, parseDomainXml, type DiskDevice } from './domain-xml.js';
import { GuestError, messageOf, OperationError } from './errors.js';
import { findGuests, type GuestLocation } from './guests.js';
import { MigrateFlags, UndefineFlags } from '@tsvirt/libvirt';
import type { DomainState, NodeApi, StorageVolRef } from './node-api.js';
import { emptyVolumeXml, ensureImagesPool, pump, type ProgressCallback } from './storage.js';

export interface MigrateResult {
  name: string;
  from: string;
  to: string;
  mode: 'live' | 'offline';
  state: DomainState;
  /** Disks removed from the source after the move. */
  removedSourceDisks: string[];
}

export interface MigrateEvents {
  onStep?: (text: string) => void;
  onProgress?: ProgressCallback;
}

export const LIVE_MIGRATION_FLAGS =
  MigrateFlags.LIVE |
  MigrateFlags.PEER2PEER |
  MigrateFlags.PERSIST_DEST |
  MigrateFlags.UNDEFINE_SOURCE |
  MigrateFlags.NON_SHARED_DISK;

export async function migrateGuest(
  cluster: Cluster,
  guest: GuestLocation,
  targetName: string,
  events: MigrateEvents = {},
): Promise<MigrateResult> {
  const source = guest.session;
  const target = cluster.session(targetName);
  const name = guest.domain.name;
  if (target.node.name === source.node.name) {
    throw new GuestError('GUEST_STATE', name, `guest ${name} is already on ${targetName}`);
  }
  if ((await findGuests(cluster, name, targetName)).length > 0) {
    throw new GuestError(
      'GUEST_EXISTS',
      name,
      `node ${targetName} already has a guest named ${name}; delete or rename it first`,
    );
  }
  const xml = await source.api.getDomainXml(guest.domain, 0);
  const disks = parseDomainXml(xml).disks.filter((d) => d.device === 'disk' && d.source !== null);
  const { state } = await source.api.getDomainInfo(guest.domain);
  const running = state === 'running' || state === 'paused';
  try {
    await ensureImagesPool(target.api, cluster.config.defaults.images);
    const removed = running
      ? await migrateLive(guest, target, disks, events)
      : await moveOffline(guest, target, xml, disks, cluster.config.defaults.images, events);
    const moved = await target.api.lookupDomainByName(name);
    return {
      name,
      from: source.node.name,
      to: target.node.name,
      mode: running ? 'live' : 'offline',
      state: (await target.api.getDomainInfo(moved)).state,
      removedSourceDisks: removed,
    };
  } catch (error) {
    if (error instanceof OperationError) throw error;
    throw new OperationError(
      'MIGRATE_FAILED',
      `migration of ${name} from ${source.node.name} to ${targetName} failed: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

async function migrateLive(
  guest: GuestLocation,
  target: OnlineSession,
  disks: DiskDevice[],
  events: MigrateEvents,
): Promise<string[]> {
  const { api } = guest.session;
  events.onStep?.(
    `migrating ${guest.domain.name} live to ${target.node.name}, copying ${disks.length} disk(s)`,
  );
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await new Promise((r) => setTimeout(r, 500));
      if (!polling) break;
      const job = await api.getJobInfo(guest.domain).catch(() => null);
      if (job !== null && job.dataTotal > 0n) events.onProgress?.(job.dataProcessed, job.dataTotal);
    }
  })();
  try {
    await api.migrateToUri3(guest.domain, target.node.uri, {}, LIVE_MIGRATION_FLAGS);
  } finally {
    polling = false;
    await poller;
  }
  // The source definition is gone (UNDEFINE_SOURCE); its disk files are not: remove them.
  return removeVolumes(api, disks);
}

async function removeVolumes(api: NodeApi, disks: DiskDevice[]): Promise<string[]> {
  const removed: string[] = [];
  for (const disk of disks) {
    if (disk.source === null) continue;
    const vol = await api.lookupStorageVolByPath(disk.source).catch(() => null);
    if (
      vol !== null &&
      (await api.deleteStorageVol(vol, 0).then(
        () => true,
        () => false,
      ))
    )
      removed.push(disk.source);
  }
  return removed;
}

async function moveOffline(
  guest: GuestLocation,
  target: OnlineSession,
  xml: string,
  disks: DiskDevice[],
  images: string,
  events: MigrateEvents,
): Promise<string[]> {
  const source = guest.session.api;
  const pool = await ensureImagesPool(target.api, images);
  const created: StorageVolRef[] = [];
  let newXml = xml;
  try {
    for (const disk of disks) {
      const path = disk.source ?? '';
      const sourceVol = await source.lookupStorageVolByPath(path).catch(() => {
        throw new OperationError(
          'MIGRATE_FAILED',
          `disk ${path} of ${guest.domain.name} is not a libvirt volume on ${guest.session.node.name}, so it cannot be copied; put it in a storage pool`,
        );
      });
      const info = await source.getStorageVolInfo(sourceVol);
      events.onStep?.(`copying ${path} to ${target.node.name}`);
      const targetVol = await target.api.createStorageVolXml(
        pool,
        emptyVolumeXml(sourceVol.name),
        0,
      );
      created.push(targetVol);
      const from = await source.downloadStorageVol(sourceVol, 0n, 0n, 0);
      const to = await target.api.uploadStorageVol(targetVol, 0n, 0n, 0);
      await pump(from, to, info.allocation, events.onProgress);
      const newPath = await target.api.getStorageVolPath(targetVol);
      newXml = newXml.split(`'${escapeXml(path)}'`).join(`'${escapeXml(newPath)}'`);
    }
    await target.api.refreshStoragePool(pool);
    await target.api.defineDomainXml(newXml, 0);
  } catch (error) {
    for (const vol of created) await target.api.deleteStorageVol(vol, 0).catch(() => undefined);
    throw error;
  }
  await source.undefineDomain(
    guest.domain,
    UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM,
  );
  return removeVolumes(source, disks);
}
