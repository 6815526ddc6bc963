/**
 * Events of every family libvirt has (domain, network, storage pool, node device, secret; it has
 * none for interfaces), made happen on a real libvirtd (qemu:///system with a TCG guest on a
 * test cluster node, and the daemon's test driver for node devices), each received decoded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Cluster, type ClusterNode, tinyGuestXml } from '@tsvirt/testcluster';
import {
  DomainDeviceModifyFlags,
  DomainEventType,
  type DomainEvents,
  DomainMetadataType,
  type DomainRef,
  type LibvirtConnection,
  NetworkEventLifecycleType,
  type NetworkEvents,
  NodeDeviceEventLifecycleType,
  type NodeDeviceEvents,
  SecretEventLifecycleType,
  type SecretEvents,
  StoragePoolEventLifecycleType,
  type StoragePoolEvents,
  connect,
} from '../../src/index.js';
import { startTestCluster, waitFor } from '../support/cluster.js';

let cluster: Cluster;
let node: ClusterNode;
let conn: LibvirtConnection;

before(async () => {
  cluster = await startTestCluster('events', 1);
  node = cluster.nodes[0]!;
  conn = await connect(node.unixUri);
});
after(async () => {
  await conn?.close();
  await cluster?.stop();
});

/** Collects what a subscription receives; `stop` ends it. */
async function collect<E>(
  subscribe: (listener: (e: E) => void) => Promise<() => Promise<void>>,
): Promise<{ events: E[]; stop: () => Promise<void> }> {
  const events: E[] = [];
  const stop = await subscribe((e) => events.push(e));
  return { events, stop };
}

type Of<M, K extends keyof M> = M[K];

const until = (what: string, ok: () => boolean): Promise<void> => waitFor(what, ok, 20000);

void describe('domain events (qemu)', () => {
  let guest: DomainRef;
  const pool = (): Promise<{ name: string; uuid: string }> =>
    conn.storagePoolLookupByName('default');

  before(async () => {
    const p = await pool();
    for (const name of ['lve-disk.raw', 'lve-extra.raw']) {
      await conn.storageVolCreateXml(
        p,
        `<volume><name>${name}</name><capacity unit='MiB'>8</capacity><target><format type='raw'/></target></volume>`,
      );
    }
  });

  void it('lifecycle: defined, started, suspended, resumed, in order', async () => {
    const { events, stop } = await collect<Of<DomainEvents, 'lifecycle'>>((l) =>
      conn.onDomainEvent('lifecycle', l),
    );
    guest = await conn.domainDefineXml(
      tinyGuestXml({
        name: 'lve-guest',
        disk: '/var/lib/libvirt/images/lve-disk.raw',
        format: 'raw',
        domainType: cluster.accel.domainType,
      }),
    );
    await conn.domainCreate(guest);
    guest = await conn.domainLookupByName('lve-guest'); // now with its id
    await conn.domainSuspend(guest);
    await conn.domainResume(guest);
    // qemu also reports the vCPUs starting (a RESUMED before STARTED): the ones we caused
    // arrive in this order, among others.
    const { DEFINED, STARTED, SUSPENDED, RESUMED } = DomainEventType;
    const wanted = [DEFINED, STARTED, SUSPENDED, RESUMED];
    const inOrder = (): boolean => {
      let next = 0;
      for (const e of events) if (e.event === wanted[next]) next++;
      return next === wanted.length;
    };
    await until(`lifecycle events ${wanted.join(', ')} in order`, inOrder);
    assert.ok(events.every((e) => e.domain.name === 'lve-guest' && e.domain.uuid === guest.uuid));
    await stop();
  });

  void it('reboot (a reset), metadata change, tunable with its typed parameters, device added', async () => {
    const reboot = await collect<Of<DomainEvents, 'reboot'>>((l) =>
      conn.onDomainEvent('reboot', l),
    );
    const metadata = await collect<Of<DomainEvents, 'metadataChange'>>((l) =>
      conn.onDomainEvent('metadataChange', l),
    );
    const tunable = await collect<Of<DomainEvents, 'tunable'>>((l) =>
      conn.onDomainEvent('tunable', l),
    );
    const added = await collect<Of<DomainEvents, 'deviceAdded'>>((l) =>
      conn.onDomainEvent('deviceAdded', l),
    );

    await conn.domainReset(guest);
    await conn.domainSetMetadata(guest, DomainMetadataType.DESCRIPTION, 'a test guest', null, null);
    await conn.domainSetSchedulerParametersFlags(guest, { cpu_shares: 512n });
    await conn.domainAttachDeviceFlags(
      guest,
      `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/lve-extra.raw'/><target dev='vdb' bus='virtio'/></disk>`,
      DomainDeviceModifyFlags.LIVE,
    );

    await until('the reboot event', () => reboot.events.length > 0);
    assert.equal(reboot.events[0]!.domain.name, 'lve-guest');
    await until('the metadata event', () => metadata.events.length > 0);
    assert.equal(metadata.events[0]!.type, DomainMetadataType.DESCRIPTION);
    await until('the tunable event', () => tunable.events.length > 0);
    assert.equal(tunable.events[0]!.params.get('cputune.cpu_shares'), 512n);
    await until('the device-added event', () => added.events.length > 0);
    assert.match(added.events[0]!.devAlias, /^virtio-disk1$/);
    for (const c of [reboot, metadata, tunable, added]) await c.stop();
  });

  void it("one domain's events only, and none after unsubscribing", async () => {
    const other = await conn.domainDefineXml(
      tinyGuestXml({
        name: 'lve-other',
        disk: '/var/lib/libvirt/images/lve-disk.raw',
        format: 'raw',
      }),
    );
    const mine = await collect<Of<DomainEvents, 'lifecycle'>>((l) =>
      conn.onDomainEvent('lifecycle', l, guest),
    );
    await conn.domainUndefine(other);
    await conn.domainDestroy(guest);
    await until('the stopped event', () =>
      mine.events.some((e) => e.event === DomainEventType.STOPPED),
    );
    assert.ok(
      mine.events.every((e) => e.domain.name === 'lve-guest'),
      'nothing of lve-other',
    );
    await mine.stop();
    const seen = mine.events.length;
    await conn.domainUndefine(guest);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mine.events.length, seen, 'nothing after unsubscribing');
  });
});

void describe('network, storage pool and secret events (qemu)', () => {
  void it('network lifecycle: defined, undefined', async () => {
    const { events, stop } = await collect<Of<NetworkEvents, 'lifecycle'>>((l) =>
      conn.onNetworkEvent('lifecycle', l),
    );
    const net = await conn.networkDefineXml(
      `<network><name>lve-net</name><bridge name='lvebr0'/></network>`,
    );
    await conn.networkUndefine(net);
    await until('two network events', () => events.length >= 2);
    assert.deepEqual(
      events.map((e) => [e.network.name, e.event]),
      [
        ['lve-net', NetworkEventLifecycleType.DEFINED],
        ['lve-net', NetworkEventLifecycleType.UNDEFINED],
      ],
    );
    await stop();
  });

  void it('storage pool lifecycle and refresh', async () => {
    const lifecycle = await collect<Of<StoragePoolEvents, 'lifecycle'>>((l) =>
      conn.onStoragePoolEvent('lifecycle', l),
    );
    const refresh = await collect<Of<StoragePoolEvents, 'refresh'>>((l) =>
      conn.onStoragePoolEvent('refresh', l),
    );
    const pool = await conn.storagePoolDefineXml(
      `<pool type='dir'><name>lve-pool</name><target><path>/var/lib/libvirt/images/lve-pool</path></target></pool>`,
    );
    await conn.storagePoolBuild(pool);
    await conn.storagePoolCreate(pool);
    await conn.storagePoolRefresh(pool);
    await conn.storagePoolDestroy(pool);
    await conn.storagePoolUndefine(pool);
    // Building the pool creates its directory: CREATED.
    const { DEFINED, CREATED, STARTED, STOPPED, UNDEFINED } = StoragePoolEventLifecycleType;
    await until('five pool events', () => lifecycle.events.length >= 5);
    assert.deepEqual(
      lifecycle.events.map((e) => e.event),
      [DEFINED, CREATED, STARTED, STOPPED, UNDEFINED],
    );
    await until('the refresh event', () => refresh.events.length > 0);
    assert.equal(refresh.events[0]!.pool.name, 'lve-pool');
    await lifecycle.stop();
    await refresh.stop();
  });

  void it('secret lifecycle and value changed', async () => {
    const lifecycle = await collect<Of<SecretEvents, 'lifecycle'>>((l) =>
      conn.onSecretEvent('lifecycle', l),
    );
    const changed = await collect<Of<SecretEvents, 'valueChanged'>>((l) =>
      conn.onSecretEvent('valueChanged', l),
    );
    const secret = await conn.secretDefineXml(
      `<secret ephemeral='no' private='no'><usage type='volume'><volume>/var/lib/libvirt/images/lve-disk.raw</volume></usage></secret>`,
    );
    await conn.secretSetValue(secret, Buffer.from('s3cret'));
    await conn.secretUndefine(secret);
    await until('two secret events', () => lifecycle.events.length >= 2);
    assert.deepEqual(
      lifecycle.events.map((e) => [e.secret.uuid, e.event]),
      [
        [secret.uuid, SecretEventLifecycleType.DEFINED],
        [secret.uuid, SecretEventLifecycleType.UNDEFINED],
      ],
    );
    await until('the value-changed event', () => changed.events.length > 0);
    assert.equal(changed.events[0]!.secret.usageID, '/var/lib/libvirt/images/lve-disk.raw');
    await lifecycle.stop();
    await changed.stop();
  });
});

void describe('node device events (the test driver through the daemon)', () => {
  void it('a vHBA created and destroyed', async () => {
    const test = await connect(`test+unix:///default?socket=${node.libvirtSocket}`);
    try {
      const { events, stop } = await collect<Of<NodeDeviceEvents, 'lifecycle'>>((l) =>
        test.onNodeDeviceEvent('lifecycle', l),
      );
      const dev = await test.nodeDeviceCreateXml(
        `<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn><wwpn>1000000012341234</wwpn></capability></capability></device>`,
      );
      await test.nodeDeviceDestroy(dev.name);
      await until('two node device events', () => events.length >= 2);
      assert.deepEqual(
        events.map((e) => [e.device.name, e.event]),
        [
          [dev.name, NodeDeviceEventLifecycleType.CREATED],
          [dev.name, NodeDeviceEventLifecycleType.DELETED],
        ],
      );
      await stop();
    } finally {
      await test.close();
    }
  });
});
