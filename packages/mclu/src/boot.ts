// `boot` and `build`: a new guest from a template. The local part (the name, the template's
// answers) is checked before any node is asked; then the node is checked, the name claimed
// (claim.ts), the disk built, uploaded and the guest started. Everything made on the node is
// on the undo stack, so a failure or an interruption leaves the cluster as it was, or says
// exactly what is left and how to remove it.
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { claimName } from './claim.js';
import { configuredNode, type Cluster, type OnlineSession } from './cluster.js';
import type { McluConfig } from './config.js';
import { domainXml } from './domain-xml.js';
import { GuestError, isAbort, McluError, messageOf, OperationError, UsageError } from './errors.js';
import { findGuests, parseGuestSpec } from './guests.js';
import { checkGuestName } from './names.js';
import type { DomainState } from './node-api.js';
import { checkBootNode, checkRoom } from './preflight.js';
import { formatSize, memoryProblem } from './size.js';
import { nodeStatus, type NodeStatus } from './status.js';
import {
  deleteVolumeIfPresent,
  emptyVolumeXml,
  uploadFile,
  type ProgressCallback,
} from './storage.js';
import { userPublicKey } from './ssh-key.js';
import {
  buildDisk,
  checkBuild,
  findTemplate,
  queryTemplate,
  templateSearchPath,
  type Template,
  type TemplateAnswers,
} from './templates.js';
import { describeUndo, UndoStack } from './undo.js';
import { makeWorkDir, removeWorkDir } from './workdir.js';

export interface BootRequest {
  template: string;
  /** NAME or NODE:NAME. */
  target: string;
  sizeBytes?: bigint | undefined;
  memoryBytes?: bigint | undefined;
  vcpus?: number | undefined;
  /** Options for the template, virt-customize style, in order: `--install`, `nginx`... */
  customizations?: readonly string[] | undefined;
  /** false for `build`: define the guest without starting it. */
  start: boolean;
}

export interface BootEvents {
  /** A step begins (for the user: "building the disk with template tiny"...). */
  onStep?: (text: string) => void;
  /** A line of the template's progress while it builds the disk (its stderr). */
  onTemplateOutput?: (line: string) => void;
  onUploadProgress?: ProgressCallback;
}

/** How a caller follows and stops an operation: an abort (Ctrl-C) ends it and undoes what
 *  it made; the undo stack is the caller's, so that it can report what is left if it stops
 *  the undo itself (a second Ctrl-C). */
export interface OperationControl {
  signal?: AbortSignal | undefined;
  undo?: UndoStack | undefined;
}

/** A boot checked and ready, before any node is asked. */
export interface PreparedBoot {
  name: string;
  node: string | null;
  start: boolean;
  template: Template;
  answers: TemplateAnswers;
  memoryBytes: bigint;
  vcpus: number;
  sizeBytes: bigint | null;
  /** The user's ssh public key, passed to the template (`ssh_key`). */
  sshKey: string | null;
  customizations: readonly string[];
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

/** Checks what can be checked locally (name, sizes, the template, its answers, and whether
 *  it will build this guest). */
export async function prepareBoot(
  config: McluConfig,
  request: BootRequest,
  events: BootEvents = {},
  control: OperationControl = {},
): Promise<PreparedBoot> {
  const { node, name } = parseGuestSpec(request.target);
  checkGuestName(name);
  if (node !== null) configuredNode(config, node);
  const defaults = config.defaults;
  const memoryBytes = request.memoryBytes ?? defaults.memoryBytes;
  const problem = memoryProblem(memoryBytes);
  if (problem !== null) throw new UsageError(`--memory ${formatSize(memoryBytes)}: ${problem}`);
  const template = findTemplate(templateSearchPath(defaults.templates), request.template);
  events.onStep?.(`asking template ${template.name}`);
  const questions = { timeoutMs: defaults.templateTimeouts.questionsMs, signal: control.signal };
  const answers = await queryTemplate(template, questions);
  const sizeBytes = request.sizeBytes ?? defaults.sizeBytes;
  const sshKey = userPublicKey(config);
  const customizations = request.customizations ?? [];
  await checkBuild(
    template,
    {
      name,
      format: defaults.format,
      sizeBytes,
      baseImage: answers.baseImage,
      sshKey,
      customizations,
    },
    questions,
  );
  return {
    name,
    node,
    start: request.start,
    template,
    answers,
    memoryBytes,
    vcpus: request.vcpus ?? defaults.vcpus,
    sizeBytes,
    sshKey,
    customizations,
  };
}

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

export async function place(
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
  boot: PreparedBoot,
  events: BootEvents = {},
  control: OperationControl = {},
): Promise<BootResult> {
  const { name } = boot;
  const defaults = cluster.config.defaults;
  const signal = control.signal;
  const undo = control.undo ?? new UndoStack();
  const verb = boot.start ? 'boot' : 'build';
  let current = 'looking for the name in the cluster';
  const step = (text: string): void => {
    signal?.throwIfAborted();
    current = text;
    events.onStep?.(text);
  };
  let workDir: string | null = null;
  try {
    const existing = await findGuests(cluster, name);
    if (existing.length > 0) {
      throw new GuestError(
        'GUEST_EXISTS',
        name,
        `a guest named ${name} already exists on ${existing.map((g) => g.session.node.name).join(', ')}; choose another name or \`mclu delete ${name}\``,
      );
    }
    const { session, reason } =
      boot.node === null
        ? await place(cluster, boot.memoryBytes, boot.vcpus)
        : { session: cluster.session(boot.node), reason: null };
    const { api, node } = session;
    if (reason !== null) events.onStep?.(`placing ${name} on ${node.name} (${reason})`);

    step(`checking ${node.name}`);
    const target = await checkBootNode(session, defaults, name, boot.sizeBytes);
    const uuid = randomUUID();
    const xmlWith = (path: string): string =>
      domainXml({
        name,
        uuid,
        domainType: defaults.domainType,
        arch: target.arch,
        memoryBytes: boot.memoryBytes,
        vcpus: boot.vcpus,
        disk: { path, format: defaults.format, bus: boot.answers.diskBus },
        network: defaults.network,
      });

    step(`claiming the name ${name} on ${node.name}`);
    const domain = await claimName(
      cluster,
      session,
      { name, uuid, xml: xmlWith(target.diskPath) },
      undo,
      signal,
    );

    step(`building the disk with template ${boot.template.name}`);
    workDir = makeWorkDir('mclu-build-');
    const local = join(workDir, target.volumeName);
    await buildDisk(
      boot.template,
      {
        name,
        format: defaults.format,
        output: local,
        sizeBytes: boot.sizeBytes,
        baseImage: boot.answers.baseImage,
        sshKey: boot.sshKey,
        customizations: boot.customizations,
      },
      {
        timeoutMs: defaults.templateTimeouts.buildMs,
        signal,
        onStderrLine: events.onTemplateOutput,
      },
    );

    step(`uploading the disk to ${node.name}`);
    await checkRoom(api, target.pool, BigInt((await stat(local)).size), node.name, 'the disk');
    const vol = await undo.track(
      {
        node: node.name,
        what: `the disk volume ${target.diskPath}`,
        undo: (a) => deleteVolumeIfPresent(a, target.pool.name, target.volumeName),
        removeWith: `mclu delete ${node.name}:${name}`,
      },
      () => api.createStorageVolXml(target.pool, emptyVolumeXml(target.volumeName), 0),
    );
    await uploadFile(api, vol, local, events.onUploadProgress, signal);
    await api.refreshStoragePool(target.pool);
    const path = await api.getStorageVolPath(vol);
    // A pool whose target is reached through a link names the file its own way.
    if (path !== target.diskPath) await api.defineDomainXml(xmlWith(path), 0);

    if (boot.start) {
      step(`starting ${name} on ${node.name}`);
      await api.createDomain(domain, 0);
    }
    signal?.throwIfAborted();
    const state = (await api.getDomainInfo(domain)).state;
    undo.commit();
    return {
      name,
      node: node.name,
      placed: reason !== null,
      placementReason: reason,
      diskPath: path,
      state,
      hints: [`mclu console ${name}`, `mclu info ${name}`],
    };
  } catch (error) {
    const report = await undo.unwind(cluster);
    const nothingMade = report.undone.length + report.left.length === 0;
    const undone = nothingMade ? '' : `\n${describeUndo(report)}`;
    if (isAbort(error) || signal?.aborted) {
      throw new OperationError(
        'INTERRUPTED',
        `${verb} of ${name} interrupted while ${current}${nothingMade ? '; nothing was left' : undone}`,
        { cause: error },
      );
    }
    // mclu's own refusals explain themselves; libvirt's errors get the step they broke.
    if (error instanceof McluError && nothingMade) throw error;
    throw new OperationError(
      'BOOT_FAILED',
      `${verb} of ${name} failed while ${current}: ${messageOf(error)}${undone}`,
      { cause: error },
    );
  } finally {
    if (workDir !== null) removeWorkDir(workDir);
  }
}
