// Nodes going off and on: powerOff/powerOn from the library, and wake-on-LAN (the magic
// packet mclu's `on` sends) waking a node that was configured off.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import { startCluster, type Cluster, type ClusterNode } from '../../src/index.js';
import { assertNothingLeft, run, virsh } from './helpers.js';

let cluster: Cluster;

before(async () => {
  cluster = await startCluster({
    name: 'it-power',
    nodes: 1,
    offNodes: 1,
    addressPrefix: '127.0.1.',
    wakeOnLan: true,
  });
});

after(async () => {
  await cluster.stop();
});

const node = (i: number): ClusterNode => {
  const n = cluster.nodes[i - 1];
  assert.ok(n !== undefined);
  return n;
};

async function sshWorks(n: ClusterNode): Promise<boolean> {
  return run(['ssh', '-F', cluster.sshConfig, n.sshDestination, 'true']).then(
    () => true,
    () => false,
  );
}

function magicPacket(mac: string): Buffer {
  const bytes = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => bytes)]);
}

void test('a magic packet to wol_address powers the off node on', async () => {
  const off = node(2);
  assert.equal(await sshWorks(off), false, 'the off node answers before it is woken');
  const [host = '', port = ''] = cluster.wolAddress.split(':');
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    socket.send(magicPacket(off.macAddress), Number(port), host, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  socket.close();
  const deadline = Date.now() + 20_000;
  while (!(await sshWorks(off))) {
    assert.ok(Date.now() < deadline, 'the node did not come up within 20 s of the magic packet');
    await sleep(200);
  }
  assert.match(await virsh(off.virshUri, 'pool-list'), /default\s+active/);
});

void test('powerOff stops a node and powerOn brings it back with its state', async () => {
  const n1 = node(1);
  await virsh(n1.unixUri, 'vol-create-as', 'default', 'kept.qcow2', '1M', '--format', 'qcow2');
  await cluster.powerOff(n1);
  assert.equal(await sshWorks(n1), false);
  await assert.rejects(cluster.exec(n1, ['true']), /node1 of cluster it-power is not running/);
  await cluster.powerOn(n1);
  assert.match(await virsh(n1.virshUri, 'vol-list', 'default'), /kept\.qcow2/);
});

void test('stopping also stops the wake-on-LAN listener and leaves nothing', async () => {
  await cluster.stop();
  assertNothingLeft(cluster);
});
