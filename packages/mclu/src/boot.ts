// `boot` and `build`: a new guest from a template. Each step that creates something on a
// node records how to undo it, so that a failure leaves the cluster as it was.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, OnlineSession } from './cluster.js';
import { domainXml } from './domain-xml.js';
import { GuestError, messageOf, OperationError, UsageError } from './errors.js';
import { findGuests, parseGuestSpec } from './guests.js';
import type { DomainState } from './node-api.js';
import { formatSize } from './size.js';
import { nodeStatus, type NodeStatus } from './status.js';
import { ensureImagesPool, uploadNewVolume, type ProgressCallback } from './storage.js';
import { buildDisk, findTemplate, queryTemplate, templateSearchPath } from './templates.js';

export interface BootRequest {
  template: string;
  /** NAME or NODE:NAME. */
  target: string;
  sizeBytes?: bigint | undefined;
  memoryBytes?: bigint | undefined;
  vcpus?: number | undefined;
  /** false for `build`: define the guest without starting it. */
  start: boolean;
}

export interface BootEvents {
  /** A step begins (for the user: "building the disk with template tiny"...). */
  onStep?: (text: string) => void;
  onUploadProgress?: ProgressCallback;
}

export interface BootResult {
  name: string;
  node: string;
  /** True when placement chose the node. */
  placed: boolean;
  placementReason: string | null;
  diskPath: string;
  state: DomainState;
  /** How to reach the guest, for the user. */
  hints: string[];
}

const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

/**
 * The node with room for the guest and the most free memory, or null. Ranking subtracts the
 * memory promised to the guests already running there: a guest that has not yet touched its
 * memory does not show in the node's free figure, and without this every guest booted in a
 * row would land on the same node.
 */
export function choosePlacement(
  statuses: readonly NodeStatus[],
  memoryBytes: bigint,
  vcpus: number,
): NodeStatus | null {
  const rank = (s: NodeStatus): bigint => (s.freeMemoryBytes ?? 0n) - (s.usedMemoryBytes ?? 0n);
  const candidates = statuses.filter(
    (s) =>
      s.state === 'on' &&
      s.freeMemoryBytes !== null &&
      s.freeMemoryBytes >= memoryBytes &&
      (s.pcpus ?? 0) >= vcpus,
  );
  candidates.sort((a, b) => (rank(b) > rank(a) ? 1 : rank(b) < rank(a) ? -1 : 0));
  return candidates[0] ?? null;
}

async function place(
  cluster: Cluster,
  memoryBytes: bigint,
  vcpus: number,
): Promise<{ session: OnlineSession; reason: string }> {
  const statuses = await Promise.all(cluster.online().map((s) => nodeStatus(s).catch(() => null)));
  const usable = statuses.filter((s): s is NodeStatus => s !== null);
  const chosen = choosePlacement(usable, memoryBytes, vcpus);
  if (chosen === null) {
    const summary =
      usable.map((s) => `${s.name} ${formatSize(s.freeMemoryBytes ?? 0n)} free`).join(', ') ||
      'no node is on';
    throw new OperationError(
      'NO_ROOM',
      `no node has room for ${formatSize(memoryBytes)} and ${vcpus} vcpu(s) (${summary}); free some memory, or give a smaller --memory`,
    );
  }
  return {
    session: cluster.session(chosen.name),
    reason: `most free memory: ${formatSize(chosen.freeMemoryBytes ?? 0n)}`,
  };
}

export async function bootGuest(
  cluster: Cluster,
  request: BootRequest,
  events: BootEvents = {},
): Promise<BootResult> {
  const { node: nodeName, name } = parseGuestSpec(request.target);
  if (!GUEST_NAME.test(name)) {
    throw new UsageError(
      `invalid guest name ${JSON.stringify(name)}: use letters, digits, ".", "_", "+" and "-", starting with a letter or digit`,
    );
  }
  const defaults = cluster.config.defaults;
  const memoryBytes = request.memoryBytes ?? defaults.memoryBytes;
  const vcpus = request.vcpus ?? defaults.vcpus;
  const sizeBytes = request.sizeBytes ?? defaults.sizeBytes;
  const template = findTemplate(templateSearchPath(defaults.templates), request.template);
  const answers = await queryTemplate(template);

  const existing = await findGuests(cluster, name);
  if (existing.length > 0) {
    throw new GuestError(
      'GUEST_EXISTS',
      name,
      `a guest named ${name} already exists on ${existing.map((g) => g.session.node.name).join(', ')}; choose another name or \`mclu delete ${name}\``,
    );
  }
  const { session, reason } =
    nodeName === null
      ? await place(cluster, memoryBytes, vcpus)
      : { session: cluster.session(nodeName), reason: null };
  const { api } = session;
  const step = (text: string): void => events.onStep?.(text);
  if (reason !== null) step(`placing ${name} on ${session.node.name} (${reason})`);

  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  const workDir = await mkdtemp(join(tmpdir(), 'mclu-build-'));
  let current = 'building the disk';
  try {
    const local = join(workDir, `${name}.${defaults.format}`);
    step(`building the disk with template ${template.name}`);
    await buildDisk(template, {
      name,
      format: defaults.format,
      output: local,
      sizeBytes,
      baseImage: answers.baseImage,
    });

    current = `preparing the images directory ${defaults.images} on ${session.node.name}`;
    const pool = await ensureImagesPool(api, defaults.images);

    current = `uploading the disk to ${session.node.name}`;
    step(current);
    const { vol, path } = await uploadNewVolume(
      api,
      pool,
      `${name}.${defaults.format}`,
      local,
      events.onUploadProgress,
    );
    undo.push({ what: `disk ${path}`, run: () => api.deleteStorageVol(vol, 0) });

    current = `defining the guest on ${session.node.name}`;
    const xml = domainXml({
      name,
      domainType: defaults.domainType,
      memoryBytes,
      vcpus,
      disk: { path, format: defaults.format, bus: answers.diskBus },
      network: defaults.network,
    });
    const domain = await api.defineDomainXml(xml, 0);
    undo.push({ what: `definition of ${name}`, run: () => api.undefineDomain(domain, 0) });

    if (request.start) {
      current = `starting ${name} on ${session.node.name}`;
      step(current);
      await api.createDomain(domain, 0);
    }
    const state = (await api.getDomainInfo(domain)).state;
    return {
      name,
      node: session.node.name,
      placed: reason !== null,
      placementReason: reason,
      diskPath: path,
      state,
      hints: [`mclu console ${name}`, `mclu info ${name}`],
    };
  } catch (error) {
    const undone: string[] = [];
    for (const action of undo.reverse()) {
      await action.run().then(
        () => undone.push(`removed ${action.what}`),
        (e: unknown) => undone.push(`could not remove ${action.what}: ${messageOf(e)}`),
      );
    }
    const cause = messageOf(error);
    throw new OperationError(
      'BOOT_FAILED',
      `${request.start ? 'boot' : 'build'} of ${name} failed while ${current}: ${cause}${undone.length > 0 ? ` (${undone.join('; ')})` : ''}`,
      { cause: error },
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
