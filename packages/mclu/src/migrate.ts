// `migrate GUEST NODE`: a running guest moves live (peer to peer, driven by the source
// daemon, disks copied because node storage is not shared); a stopped guest is moved
// offline (disks streamed node to node through the two libvirt connections, then the
// definition). Either way the guest ends on the target only, or, on failure, stays on the
// source with nothing left on the target (its partial copies are removed, or named with
// the command that removes them when the target cannot be reached).
import { setTimeout as sleep } from 'node:timers/promises';
import { basename } from 'node:path';
import { removeDefinitionIfOurs } from './claim.js';
import type { Cluster, OnlineSession } from './cluster.js';
import { parseDomainXml, withDiskPaths, type DiskDevice } from './domain-xml.js';
import { GuestError, isAbort, messageOf, OperationError } from './errors.js';
import { findGuests, type GuestLocation } from './guests.js';
import {
  ErrorCode,
  MigrateFlags,
  StorageVolDownloadFlags,
  StorageVolInfoFlags,
  StorageVolUploadFlags,
  UndefineFlags,
} from '@tsvirt/libvirt';
import {
  libvirtErrorNumber,
  type DomainState,
  type NodeApi,
  type StorageVolRef,
} from './node-api.js';
import { checkRoom } from './preflight.js';
import { formatSize } from './size.js';
import {
  copyStream,
  DISK_FORMATS,
  emptyVolumeXml,
  ensureImagesPool,
  type ProgressCallback,
} from './storage.js';
import type { OperationControl } from './boot.js';
import { describeUndo, UndoStack, type UndoEntry } from './undo.js';

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

/** A disk of the guest that is a libvirt volume on the source, with the room it takes and
 *  the length of its file (what a download of it spans, holes included). */
interface SourceDisk {
  disk: DiskDevice & { source: string };
  vol: StorageVolRef;
  allocation: bigint;
  physical: bigint;
}

async function sourceDisks(guest: GuestLocation, disks: DiskDevice[]): Promise<SourceDisk[]> {
  const { api } = guest.session;
  return Promise.all(
    disks.map(async (disk) => {
      const path = disk.source ?? '';
      const vol = await api.lookupStorageVolByPath(path).catch(() => {
        throw new OperationError(
          'MIGRATE_FAILED',
          `disk ${path} of ${guest.domain.name} is not a libvirt volume on ${guest.session.node.name}, so it cannot be copied; put it in a storage pool`,
        );
      });
      const [{ allocation }, { allocation: physical }] = await Promise.all([
        api.getStorageVolInfo(vol),
        api.storageVolGetInfoFlags(vol, StorageVolInfoFlags.GET_PHYSICAL),
      ]);
      return { disk: { ...disk, source: path }, vol, allocation, physical };
    }),
  );
}

/** The command that removes a copy left on the target: `mclu delete` when the volume is
 *  named like a boot's (NAME.FORMAT), else virsh. */
function removeCopyCommand(
  target: OnlineSession,
  name: string,
  volume: string,
  path: string,
): string {
  return DISK_FORMATS.some((f) => volume === `${name}.${f}`)
    ? `mclu delete ${target.node.name}:${name}`
    : `virsh -c '${target.node.uri}' vol-delete '${path}'`;
}

/** Removes a copy on the target, unless the guest is defined there after all (a migration
 *  whose answer was lost may have gone through: its disk must stay). */
async function removeCopy(api: NodeApi, name: string, path: string): Promise<void> {
  const there = await api.lookupDomainByName(name).catch(() => null);
  if (there !== null)
    throw new Error(`kept: ${name} is defined on this node (the migration may have gone through)`);
  let vol: StorageVolRef;
  try {
    vol = await api.lookupStorageVolByPath(path);
  } catch (error) {
    if (libvirtErrorNumber(error) === ErrorCode.NO_STORAGE_VOL) return;
    throw error;
  }
  await api.deleteStorageVol(vol, 0);
}

/** Before anything moves: the target has the memory (live) and the disk space, and no
 *  volume where the copies go. */
async function checkTarget(
  guest: GuestLocation,
  target: OnlineSession,
  disks: SourceDisk[],
  live: boolean,
  images: string,
): Promise<void> {
  const name = guest.domain.name;
  const pool = await ensureImagesPool(target.api, images);
  if (live) {
    const [info, free] = await Promise.all([
      guest.session.api.getDomainInfo(guest.domain),
      target.api.getFreeMemory(),
    ]);
    if (free < info.memoryBytes) {
      throw new OperationError(
        'NO_ROOM',
        `${target.node.name} has ${formatSize(free)} of free memory and ${name} uses ${formatSize(info.memoryBytes)}; free some memory there, or choose another node`,
      );
    }
  }
  const total = disks.reduce((sum, d) => sum + d.allocation, 0n);
  await checkRoom(target.api, pool, total, target.node.name, `the copy of ${name}'s disks`);
  for (const { disk, vol } of disks) {
    const atPath = await target.api.lookupStorageVolByPath(disk.source).catch(() => null);
    const byName = live
      ? null
      : await target.api.lookupStorageVolByName(pool, vol.name).catch(() => null);
    if (atPath !== null || byName !== null) {
      throw new GuestError(
        'GUEST_EXISTS',
        name,
        `${target.node.name} already has a volume ${atPath !== null ? disk.source : vol.name}, where ${name}'s disk would go; remove it there first (${removeCopyCommand(target, name, vol.name, disk.source)})`,
      );
    }
  }
}

export async function migrateGuest(
  cluster: Cluster,
  guest: GuestLocation,
  targetName: string,
  events: MigrateEvents = {},
  control: OperationControl = {},
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
  const { state } = await source.api.getDomainInfo(guest.domain);
  const live = state === 'running' || state === 'paused';
  const disks = await sourceDisks(
    guest,
    parseDomainXml(xml).disks.filter((d) => d.device === 'disk' && d.source !== null),
  );
  await checkTarget(guest, target, disks, live, cluster.config.defaults.images);
  const undo = control.undo ?? new UndoStack();
  try {
    const removed = live
      ? await migrateLive(guest, target, disks, undo, events, control.signal)
      : await moveOffline(
          guest,
          target,
          xml,
          disks,
          cluster.config.defaults.images,
          undo,
          events,
          control.signal,
        );
    const moved = await target.api.lookupDomainByName(name);
    return {
      name,
      from: source.node.name,
      to: target.node.name,
      mode: live ? 'live' : 'offline',
      state: (await target.api.getDomainInfo(moved)).state,
      removedSourceDisks: removed,
    };
  } catch (error) {
    // Asked first: the undo may connect to the target again.
    const targetDown = !(await answers(cluster, targetName));
    const report = await undo.unwind(cluster);
    const tail = [await sourceState(guest), describeUndo(report)]
      .filter((l) => l !== '')
      .join('\n');
    // An interruption cancels the job: libvirt then reports that, not an abort.
    if (isAbort(error) || control.signal?.aborted) {
      throw new OperationError('INTERRUPTED', `migration of ${name} interrupted\n${tail}`, {
        cause: error,
      });
    }
    const cause = targetDown
      ? `${targetName} stopped answering during the migration (${messageOf(error)})`
      : explainFailure(messageOf(error), source.node.name, targetName);
    throw new OperationError(
      'MIGRATE_FAILED',
      `migration of ${name} from ${source.node.name} to ${targetName} failed: ${cause}\n${tail}`,
      { cause: error },
    );
  }
}

/** libvirt's words for a migration cut short are its I/O layer's (or, when the target's
 *  qemu dies as it starts, its monitor's); say what they mean. */
function explainFailure(message: string, source: string, target: string): string {
  const cut =
    /End of file while reading data|Connection reset by peer|Broken pipe|process exited while connecting to monitor|qemu unexpectedly closed the monitor/i;
  if (!cut.test(message)) return message;
  return `the migration's connection to ${target} was cut (its qemu or libvirtd stopped, or the network between the nodes failed); libvirt on ${source} said: ${message}`;
}

/** Whether the node still answers (a call within a few seconds). */
async function answers(cluster: Cluster, nodeName: string): Promise<boolean> {
  const session = cluster.sessions.find((s) => s.node.name === nodeName);
  if (session?.state !== 'on') return false;
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    session.api.getNodeInfo().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 3000))),
  ]);
  clearTimeout(timer);
  return ok;
}

/** Where the guest is after a failed migration, for the message. */
async function sourceState(guest: GuestLocation): Promise<string> {
  const { api, node } = guest.session;
  const name = guest.domain.name;
  try {
    const { state } = await api.getDomainInfo(await api.lookupDomainByName(name));
    return `${name} is still ${state} on ${node.name}`;
  } catch (error) {
    return libvirtErrorNumber(error) === ErrorCode.NO_DOMAIN
      ? `${name} is no longer defined on ${node.name}: check \`mclu list --all\``
      : `${name}'s state on ${node.name} is unknown: ${messageOf(error)}`;
  }
}

async function migrateLive(
  guest: GuestLocation,
  target: OnlineSession,
  disks: SourceDisk[],
  undo: UndoStack,
  events: MigrateEvents,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const { api } = guest.session;
  const name = guest.domain.name;
  // libvirt creates the target's disks itself, at the same paths; a failed migration
  // leaves them behind, so they are on the undo stack from the start.
  for (const { disk, vol } of disks) {
    undo.add({
      node: target.node.name,
      what: `the partial copy ${disk.source}`,
      undo: (a) => removeCopy(a, name, disk.source),
      removeWith: removeCopyCommand(target, name, vol.name, disk.source),
    });
  }
  events.onStep?.(`migrating ${name} live to ${target.node.name}, copying ${disks.length} disk(s)`);
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await sleep(500);
      if (!polling) break;
      const job = await api.getJobInfo(guest.domain).catch(() => null);
      if (job !== null && job.dataTotal > 0n) events.onProgress?.(job.dataProcessed, job.dataTotal);
    }
  })();
  // An interruption cancels the migration job on the source (the guest stays there).
  const onAbort = (): void => void abortJob(api, guest);
  signal?.addEventListener('abort', onAbort);
  try {
    await api.migrateToUri3(guest.domain, target.node.uri, {}, LIVE_MIGRATION_FLAGS);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    polling = false;
    await poller;
  }
  signal?.throwIfAborted();
  undo.commit();
  // The source definition is gone (UNDEFINE_SOURCE); its disk files are not: remove them.
  return removeVolumes(api, disks);
}

async function abortJob(api: NodeApi, guest: GuestLocation): Promise<void> {
  await api.abortDomainJob(guest.domain).catch(() => undefined);
}

async function removeVolumes(api: NodeApi, disks: SourceDisk[]): Promise<string[]> {
  const removed: string[] = [];
  for (const { disk, vol } of disks) {
    if (
      await api.deleteStorageVol(vol, 0).then(
        () => true,
        () => false,
      )
    )
      removed.push(disk.source);
  }
  return removed;
}

async function moveOffline(
  guest: GuestLocation,
  target: OnlineSession,
  xml: string,
  disks: SourceDisk[],
  images: string,
  undo: UndoStack,
  events: MigrateEvents,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const source = guest.session.api;
  const name = guest.domain.name;
  const pool = await ensureImagesPool(target.api, images);
  const moves = new Map<string, string>();
  for (const { disk, vol, physical } of disks) {
    events.onStep?.(`copying ${disk.source} to ${target.node.name}`);
    const entry: UndoEntry = {
      node: target.node.name,
      what: `the partial copy ${basename(disk.source)} in ${images}`,
      undo: (a) => removeCopy(a, name, `${images}/${vol.name}`),
      removeWith: removeCopyCommand(target, name, vol.name, `${images}/${vol.name}`),
    };
    const targetVol = await undo.track(entry, () =>
      target.api.createStorageVolXml(pool, emptyVolumeXml(vol.name), 0),
    );
    // Sparse both ways: the holes of the disk are not sent and stay holes on the target.
    const from = await source.downloadStorageVol(
      vol,
      0n,
      0n,
      StorageVolDownloadFlags.SPARSE_STREAM,
    );
    const to = await target.api.uploadStorageVol(
      targetVol,
      0n,
      0n,
      StorageVolUploadFlags.SPARSE_STREAM,
    );
    await copyStream(from, to, physical, events.onProgress, signal);
    moves.set(disk.source, await target.api.getStorageVolPath(targetVol));
  }
  signal?.throwIfAborted();
  await target.api.refreshStoragePool(pool);
  const uuid = guest.domain.uuid;
  await undo.track(
    {
      node: target.node.name,
      what: `the definition of ${name}`,
      undo: (a) => removeDefinitionIfOurs(a, name, uuid),
      removeWith: `mclu delete ${target.node.name}:${name}`,
    },
    () => target.api.defineDomainXml(withDiskPaths(xml, moves), 0),
  );
  signal?.throwIfAborted();
  undo.commit();
  // The guest is on the target now; what follows only tidies the source.
  try {
    await source.undefineDomain(
      guest.domain,
      UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM,
    );
  } catch (error) {
    throw new OperationError(
      'MIGRATE_FAILED',
      `${name} was copied to ${target.node.name} and is defined there, but its old definition on ${guest.session.node.name} could not be removed (${messageOf(error)}); remove it with \`mclu delete ${guest.session.node.name}:${name}\``,
      { cause: error },
    );
  }
  return removeVolumes(source, disks);
}
