// Unique guest names without a daemon of mclu's own (the argument is in the README, "Unique
// names"). libvirt makes a name unique on one node: a definition of a name that exists
// there fails. Across nodes, a boot claims its name by defining the guest first, then looks
// the name up on every reachable node:
//   - only its own definition: it wins;
//   - others too: the definition with the smallest UUID may win, but only once every other
//     one has gone; every other claimant undoes its definition and fails.
// A claimant that saw only itself proceeds at once, so a later one, which sees it, must not
// win by UUID: it waits for the others to withdraw, up to connect_timeout, and loses if they
// do not. Both cannot win; when the two look at the same time, exactly one does.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, OnlineSession } from './cluster.js';
import { GuestError } from './errors.js';
import { ErrorCode, UndefineFlags } from '@tsvirt/libvirt';
import { libvirtErrorNumber, type DomainRef, type NodeApi } from './node-api.js';
import type { UndoStack } from './undo.js';

const POLL_MS = 200;

/** Removes the guest `name` from the node if it is the one with `uuid` (not a namesake),
 *  stopping it first; nothing to do when it is not there. */
export async function removeDefinitionIfOurs(
  api: NodeApi,
  name: string,
  uuid: string,
): Promise<void> {
  let domain: DomainRef;
  try {
    domain = await api.lookupDomainByName(name);
  } catch (error) {
    if (libvirtErrorNumber(error) === ErrorCode.NO_DOMAIN) return;
    throw error;
  }
  if (domain.uuid.toLowerCase() !== uuid.toLowerCase()) return;
  const { state } = await api.getDomainInfo(domain);
  if (state !== 'shut off' && state !== 'crashed') await api.destroyDomain(domain);
  await api.undefineDomain(
    domain,
    UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM,
  );
}

interface Holder {
  node: string;
  uuid: string;
}

/** Who holds the name now, on every node that answers (one that does not is taken as off). */
async function holders(cluster: Cluster, name: string): Promise<Holder[]> {
  const found = await Promise.all(
    cluster.online().map(async (s): Promise<Holder[]> => {
      try {
        const domain = await s.api.lookupDomainByName(name);
        return [{ node: s.node.name, uuid: domain.uuid.toLowerCase() }];
      } catch {
        return [];
      }
    }),
  );
  return found.flat();
}

function taken(name: string, others: Holder[]): GuestError {
  const where = [...new Set(others.map((o) => o.node))].join(', ');
  return new GuestError(
    'GUEST_EXISTS',
    name,
    `a guest named ${name} was defined on ${where} at the same time (another boot of the same name); it keeps the name: choose another one`,
  );
}

/** Defines the guest (recorded on `undo`) and makes sure the name is its alone in the
 *  cluster; throws GUEST_EXISTS when another holds it (the caller's undo then removes this
 *  definition). */
export async function claimName(
  cluster: Cluster,
  session: OnlineSession,
  claim: { name: string; uuid: string; xml: string },
  undo: UndoStack,
  signal?: AbortSignal,
): Promise<DomainRef> {
  const { api, node } = session;
  const { name } = claim;
  const uuid = claim.uuid.toLowerCase();
  let domain: DomainRef;
  try {
    domain = await undo.track(
      {
        node: node.name,
        what: `the definition of ${name}`,
        undo: (a) => removeDefinitionIfOurs(a, name, uuid),
        removeWith: `mclu delete ${node.name}:${name}`,
      },
      () => api.defineDomainXml(claim.xml, 0),
    );
  } catch (error) {
    // Defined on the same node a moment ago by someone else: libvirt refused ours.
    const existing = await api.lookupDomainByName(name).catch(() => null);
    if (
      libvirtErrorNumber(error) !== null &&
      existing !== null &&
      existing.uuid.toLowerCase() !== uuid
    )
      throw taken(name, [{ node: node.name, uuid: existing.uuid }]);
    throw error;
  }
  const deadline = Date.now() + cluster.config.defaults.connectTimeoutMs;
  for (;;) {
    const others = (await holders(cluster, name)).filter(
      (h) => !(h.node === node.name && h.uuid === uuid),
    );
    if (others.length === 0) return domain;
    const first = [uuid, ...others.map((o) => o.uuid)].sort()[0];
    if (first !== uuid || Date.now() >= deadline) throw taken(name, others);
    await sleep(POLL_MS, undefined, { signal });
  }
}
