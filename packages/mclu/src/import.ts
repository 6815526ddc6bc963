// `import`: a foreign guest brought into the cluster by the v2v engine (@tsvirt/v2v): its
// source is read and checked here, the node chosen as for `boot` (given, or placement), the
// node checked, then the conversion runs with the node's pool as its output: the disks are
// uploaded as volumes NAME-sda..., and the guest is defined the mclu way (domain type and
// network of mclu.conf, the serial console logged on the node), and started with --start.
// A failure removes the volumes and the definition it made.
import { type Cluster } from './cluster.js';
import type { McluConfig } from './config.js';
import { GuestError, McluError, OperationError, UsageError, messageOf } from './errors.js';
import { findGuests, parseGuestSpec } from './guests.js';
import { checkGuestName } from './names.js';
import type { DomainState } from './node-api.js';
import { checkBootNode } from './preflight.js';
import { place, type OperationControl } from './boot.js';
import {
  LibvirtOutput,
  V2vError,
  convert,
  diskSource,
  libvirtXmlSource,
  ovaSource,
  type SourceGuest,
} from '@tsvirt/v2v';
import { readFileSync } from 'node:fs';

export type ImportInput = 'disk' | 'ova' | 'libvirtxml';

export interface ImportRequest {
  /** NAME or NODE:NAME. */
  target: string;
  input: ImportInput;
  sources: readonly string[];
  start: boolean;
  /** Overrides the source's memory and vCPUs. */
  memoryBytes?: bigint | undefined;
  vcpus?: number | undefined;
}

export interface ImportEvents {
  onStep?: (text: string) => void;
  onUploadProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  name: string;
  node: string;
  placed: boolean;
  placementReason: string | null;
  state: DomainState;
  /** What the conversion decided, one line each. */
  decisions: readonly string[];
  copiedBytes: number;
}

async function readSource(request: ImportRequest): Promise<SourceGuest> {
  const one = (): string => {
    if (request.sources.length !== 1)
      throw new UsageError(`import -i ${request.input}: give exactly one source`);
    return request.sources[0]!;
  };
  switch (request.input) {
    case 'disk':
      return diskSource(request.sources);
    case 'ova':
      return ovaSource(one());
    case 'libvirtxml': {
      const file = one();
      return libvirtXmlSource(readFileSync(file, 'utf8'), file);
    }
  }
}

export async function importGuest(
  cluster: Cluster,
  config: McluConfig,
  request: ImportRequest,
  events: ImportEvents = {},
  control: OperationControl = {},
): Promise<ImportResult> {
  const { node: nodeName, name } = parseGuestSpec(request.target);
  checkGuestName(name);
  const defaults = config.defaults;
  try {
    events.onStep?.('reading the source');
    const read = await readSource(request);
    const source: SourceGuest = {
      ...read,
      memoryBytes:
        request.memoryBytes !== undefined ? Number(request.memoryBytes) : read.memoryBytes,
      vcpus: request.vcpus ?? read.vcpus,
    };
    const existing = await findGuests(cluster, name);
    if (existing.length > 0)
      throw new GuestError(
        'GUEST_EXISTS',
        name,
        `a guest named ${name} already exists on ${existing.map((g) => g.session.node.name).join(', ')}; choose another name or \`mclu delete ${name}\``,
      );
    const { session, reason } =
      nodeName === null
        ? await place(cluster, BigInt(source.memoryBytes), source.vcpus)
        : { session: cluster.session(nodeName), reason: null };
    if (reason !== null) events.onStep?.(`placing ${name} on ${session.node.name} (${reason})`);
    events.onStep?.(`checking ${session.node.name}`);
    const target = await checkBootNode(session, defaults, name, null);
    const output = (workDir: string): LibvirtOutput =>
      new LibvirtOutput({
        uri: session.node.uri,
        connection: session.api,
        pool: target.pool.name,
        network:
          defaults.network === 'user'
            ? { kind: 'user' }
            : { kind: 'network', name: defaults.network },
        format: defaults.format === 'raw' ? 'raw' : 'qcow2',
        allocation: 'sparse',
        workDir,
        domainType: defaults.domainType,
        serialLog: `/var/log/libvirt/qemu/${name}-serial.log`,
        // Nodes are headless: a VNC display (mclu viewer), never an SDL window.
        graphics: 'vnc',
        // mclu's guests have mclu's device set, which has no vsock (and hosts without
        // /dev/vhost-vsock could not start them).
        vsock: false,
      });
    const result = await convert({
      source: () => Promise.resolve(source),
      output,
      name,
      signal: control.signal,
      events: {
        onStage: (text) => events.onStep?.(text.charAt(0).toLowerCase() + text.slice(1)),
        onCopyProgress: (_disk, done, total) => events.onUploadProgress?.(done, total),
      },
    });
    const domain = await session.api.lookupDomainByName(name);
    if (request.start) {
      events.onStep?.(`starting ${name} on ${session.node.name}`);
      try {
        await session.api.createDomain(domain, 0);
      } catch (e) {
        throw new OperationError(
          'IMPORT_FAILED',
          `${name} was imported to ${session.node.name} but did not start: ${messageOf(e)} (\`mclu start ${name}\` after fixing it, or \`mclu delete ${name}\`)`,
          { cause: e },
        );
      }
    }
    return {
      name,
      node: session.node.name,
      placed: reason !== null,
      placementReason: reason,
      state: (await session.api.getDomainInfo(domain)).state,
      decisions: result.plan.conversion.decisions,
      copiedBytes: result.copied.reduce((n, c) => n + c.dataBytes, 0),
    };
  } catch (e) {
    if (e instanceof McluError) throw e;
    if (e instanceof V2vError) {
      if (e.code === 'USAGE') throw new UsageError(e.message);
      if (e.code === 'INTERRUPTED')
        throw new OperationError('INTERRUPTED', `import of ${name} interrupted; nothing was left`, {
          cause: e,
        });
      throw new OperationError('IMPORT_FAILED', `import of ${name} failed: ${e.message}`, {
        cause: e,
      });
    }
    throw new OperationError('IMPORT_FAILED', `import of ${name} failed: ${messageOf(e)}`, {
      cause: e,
    });
  }
}
