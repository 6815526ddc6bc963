// Checks made on the chosen node before anything is built or copied, so that a boot or a
// migration that cannot work says so in one round trip instead of after minutes of work.
import { ListNetworksFlags } from '@tsvirt/libvirt';
import { join } from 'node:path';
import { guestArchitecture } from './capabilities.js';
import type { OnlineSession } from './cluster.js';
import type { Defaults } from './config.js';
import { GuestError, OperationError } from './errors.js';
import type { NodeApi, StoragePoolRef } from './node-api.js';
import { formatSize } from './size.js';
import { ensureImagesPool, findVolume, poolAvailable } from './storage.js';

/** Why the node cannot give the guest its network, or null when it can. */
export async function networkProblem(api: NodeApi, network: string): Promise<string | null> {
  if (network === 'user') return null;
  const [all, active] = await Promise.all([
    api.listAllNetworks(0),
    api.listAllNetworks(ListNetworksFlags.ACTIVE),
  ]);
  if (active.some((n) => n.name === network)) return null;
  if (all.some((n) => n.name === network))
    return `its network ${network} is not active; start it there (virsh net-start ${network})`;
  const names = all.map((n) => n.name);
  return `it has no network named ${network} (its networks: ${names.join(', ') || 'none'}); set [defaults] network to one of them, or to "user" for user-mode networking`;
}

/** Refuses when the pool cannot take `bytes` more. */
export async function checkRoom(
  api: NodeApi,
  pool: StoragePoolRef,
  bytes: bigint,
  where: string,
  what: string,
): Promise<void> {
  const available = await poolAvailable(api, pool);
  if (available >= bytes) return;
  throw new OperationError(
    'NO_ROOM',
    `${where} has ${formatSize(available)} available in its images pool, and ${what} needs ${formatSize(bytes)}; free some space there, or choose another node`,
  );
}

export interface BootTarget {
  pool: StoragePoolRef;
  arch: string;
  volumeName: string;
  diskPath: string;
}

/** Everything a boot needs of its node, checked before the disk is built: it can run the
 *  guest's architecture and domain type, it has the network, its pool has room for the
 *  disk's size (when known), and no volume NAME.FORMAT is in the way. */
export async function checkBootNode(
  session: OnlineSession,
  defaults: Defaults,
  name: string,
  sizeBytes: bigint | null,
): Promise<BootTarget> {
  const { api, node } = session;
  const refused = (problem: string): OperationError =>
    new OperationError('BOOT_FAILED', `cannot boot ${name} on ${node.name}: ${problem}`);
  const [capabilities, network, pool] = await Promise.all([
    api.getCapabilities(),
    networkProblem(api, defaults.network),
    ensureImagesPool(api, defaults.images),
  ]);
  const arch = guestArchitecture(capabilities, defaults.domainType);
  if ('problem' in arch) throw refused(arch.problem);
  if (network !== null) throw refused(network);
  const volumeName = `${name}.${defaults.format}`;
  if ((await findVolume(api, pool, volumeName)) !== null) {
    // Defined meanwhile (a boot of the same name that got there first): its volume.
    if (
      await api.lookupDomainByName(name).then(
        () => true,
        () => false,
      )
    )
      throw new GuestError(
        'GUEST_EXISTS',
        name,
        `a guest named ${name} already exists on ${node.name}; choose another name or \`mclu delete ${name}\``,
      );
    throw new GuestError(
      'GUEST_EXISTS',
      name,
      `${node.name} already has a disk volume ${volumeName} in ${defaults.images} (left by an interrupted boot?); \`mclu delete ${node.name}:${name}\` removes it, or choose another name`,
    );
  }
  if (sizeBytes !== null) await checkRoom(api, pool, sizeBytes, node.name, 'the disk');
  return {
    pool,
    arch: arch.arch,
    volumeName,
    diskPath: join(defaults.images, volumeName),
  };
}
