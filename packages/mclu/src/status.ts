// `status` and `list`: what each node has and runs. One round trip per question per node
// (node info, free memory, and the stats of all its guests at once), all nodes in parallel.
import type { Cluster, OnlineSession } from './cluster.js';
import { messageOf } from './errors.js';
import { DOMAIN_STATES, DomainStatsTypes } from '@tsvirt/libvirt';
import type { DomainState, DomainStatsRecord } from './node-api.js';

export interface NodeStatus {
  name: string;
  state: 'on' | 'off';
  /** Why the node is off or unreachable (the transport's message). */
  error?: string;
  pcpus: number | null;
  memoryBytes: bigint | null;
  usedVcpus: number | null;
  usedMemoryBytes: bigint | null;
  /** Running guests. */
  guests: number | null;
  freeMemoryBytes: bigint | null;
}

export interface GuestSummary {
  name: string;
  node: string;
  state: DomainState;
  vcpus: number;
  memoryBytes: bigint;
}

const STATS = DomainStatsTypes.STATE | DomainStatsTypes.BALLOON | DomainStatsTypes.VCPU;

/** The guests of one node from its domain stats (all of them, running or not). */
export async function nodeGuests(session: OnlineSession): Promise<GuestSummary[]> {
  const records = await session.api.getAllDomainStats(STATS, 0);
  return records.map((record) => guestFromStats(session.node.name, record));
}

export function guestFromStats(node: string, record: DomainStatsRecord): GuestSummary {
  const stateNumber = Number(record.params.get('state.state') ?? 0);
  const balloonKiB =
    record.params.get('balloon.current') ?? record.params.get('balloon.maximum') ?? 0;
  return {
    name: record.domain.name,
    node,
    state: DOMAIN_STATES[stateNumber] ?? 'no state',
    vcpus: Number(record.params.get('vcpu.current') ?? record.params.get('vcpu.maximum') ?? 0),
    memoryBytes: BigInt(typeof balloonKiB === 'boolean' ? 0 : balloonKiB) * 1024n,
  };
}

/** A guest counts as using its node's resources while it is active (running, paused...). */
export function isActive(state: DomainState): boolean {
  return state !== 'shut off' && state !== 'crashed';
}

export async function nodeStatus(session: OnlineSession): Promise<NodeStatus> {
  const [info, free, guests] = await Promise.all([
    session.api.getNodeInfo(),
    session.api.getFreeMemory(),
    nodeGuests(session),
  ]);
  const active = guests.filter((g) => isActive(g.state));
  return {
    name: session.node.name,
    state: 'on',
    pcpus: info.cpus,
    memoryBytes: info.memoryBytes,
    usedVcpus: active.reduce((sum, g) => sum + g.vcpus, 0),
    usedMemoryBytes: active.reduce((sum, g) => sum + g.memoryBytes, 0n),
    guests: active.length,
    freeMemoryBytes: free,
  };
}

function offStatus(name: string, error: string): NodeStatus {
  return {
    name,
    state: 'off',
    error,
    pcpus: null,
    memoryBytes: null,
    usedVcpus: null,
    usedMemoryBytes: null,
    guests: null,
    freeMemoryBytes: null,
  };
}

/** The status of every node of the cluster, in configuration order. A node whose queries
 *  fail after connecting is reported off with the reason, like an unreachable one. */
export async function clusterStatus(cluster: Cluster): Promise<NodeStatus[]> {
  return Promise.all(
    cluster.sessions.map(async (session) => {
      if (session.state === 'off') return offStatus(session.node.name, session.error);
      try {
        return await nodeStatus(session);
      } catch (error) {
        return offStatus(session.node.name, `libvirt: ${messageOf(error)}`);
      }
    }),
  );
}

export interface GuestListing {
  guests: GuestSummary[];
  /** Nodes that could not be asked, with the reason. */
  unreachable: { node: string; error: string }[];
}

/** Every guest on every reachable node, sorted by name then node. `all`: include the
 *  defined but inactive ones. */
export async function listGuests(cluster: Cluster, all: boolean): Promise<GuestListing> {
  const unreachable = cluster.offline().map((s) => ({ node: s.node.name, error: s.error }));
  const perNode = await Promise.all(
    cluster.online().map(async (session) => {
      try {
        return await nodeGuests(session);
      } catch (error) {
        unreachable.push({
          node: session.node.name,
          error: `libvirt: ${messageOf(error)}`,
        });
        return [];
      }
    }),
  );
  const guests = perNode
    .flat()
    .filter((g) => all || isActive(g.state))
    .sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
  return { guests, unreachable };
}
