// The acceptance test of issue 4: 3 nodes + 1 off node, each reachable from outside with
// virsh over ssh; the test guest boots on node1, live-migrates to node2 and keeps running;
// stopping leaves no process, mount or file.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'smol-toml';
import {
  GUEST_MARKER,
  serialLogName,
  startCluster,
  templatesDir,
  tinyGuestXml,
  type Cluster,
  type ClusterNode,
} from '../../src/index.js';
import {
  KVM_PROBE_CACHE,
  machineDomainType,
  machineProbeKey,
  readCachedProbe,
} from '../../src/accel.js';
import { assertNothingLeft, onNodes, run, virsh, waitForLine } from './helpers.js';

let cluster: Cluster;
let startMs = 0;

before(async () => {
  const started = Date.now();
  cluster = await startCluster({
    name: 'it-cluster',
    nodes: 3,
    offNodes: 1,
    addressPrefix: '127.0.1.',
  });
  startMs = Date.now() - started;
});

after(async () => {
  await cluster.stop();
});

const node = (i: number): ClusterNode => {
  const n = cluster.nodes[i - 1];
  assert.ok(n !== undefined, `no node${i}`);
  return n;
};

void test('3 nodes on and 1 off, at their addresses', (t) => {
  t.diagnostic(`3 nodes started in ${startMs} ms`);
  assert.deepEqual(
    cluster.nodes.map((n) => [n.name, n.address, n.state]),
    [
      ['node1', '127.0.1.11', 'on'],
      ['node2', '127.0.1.12', 'on'],
      ['node3', '127.0.1.13', 'on'],
      ['node4', '127.0.1.14', 'off'],
    ],
  );
});

void test('every node answers virsh over ssh from outside, each its own libvirtd', async () => {
  const hostUuids = new Set<string>();
  for (const n of onNodes(cluster)) {
    assert.equal(n.uri, `qemu+ssh://root@${n.address}/system`);
    const list = await run(['virsh', '-c', n.virshUri, 'list', '--all']);
    assert.match(list, /Id\s+Name\s+State/);
    const pools = await virsh(n.virshUri, 'pool-list', '--all');
    assert.match(
      pools,
      /^\s*default\s+active\s+yes/m,
      `${n.name}: the default pool is not active: ${pools}`,
    );
    const capabilities = await virsh(n.virshUri, 'capabilities');
    hostUuids.add(/<host>\s*<uuid>([^<]+)<\/uuid>/.exec(capabilities)?.[1] ?? '');
    // The ssh session runs inside the node's namespace: it sees the node's own qemu.conf.
    const qemuConf = await run([
      'ssh',
      '-F',
      cluster.sshConfig,
      n.sshDestination,
      'cat /etc/libvirt/qemu.conf',
    ]);
    assert.match(
      qemuConf,
      new RegExp(`^migration_address = "${n.address.replace(/\./g, '\\.')}"$`, 'm'),
    );
  }
  assert.equal(hostUuids.size, 3, 'every node has its own host UUID');
});

void test('the off node is configured but nothing listens there', async () => {
  const off = node(4);
  await assert.rejects(
    run(['ssh', '-F', cluster.sshConfig, off.sshDestination, 'true']),
    /Connection refused/,
  );
  const conf = parse(readFileSync(cluster.mcluConfig, 'utf8')) as {
    defaults: Record<string, unknown>;
    nodes: Record<string, { host: string }>;
  };
  assert.equal(conf.nodes['node4']?.host, 'root@127.0.1.14');
  assert.deepEqual(conf.defaults['templates'], [templatesDir]);
});

void test('the guests run under the accelerator the KVM probe chose, and mclu.conf says why', () => {
  const text = readFileSync(cluster.mcluConfig, 'utf8');
  const conf = parse(text) as { defaults: Record<string, unknown> };
  assert.equal(conf.defaults['domain_type'], cluster.accel.domainType);
  assert.ok(text.includes(cluster.accel.reason), 'mclu.conf has the reason as a comment');
  if (cluster.accel.source !== 'forced') {
    // The probe's answer is cached for this kernel and qemu, and the cluster follows it.
    const cached = readCachedProbe(KVM_PROBE_CACHE, machineProbeKey());
    assert.ok(cached !== null, `no cached probe in ${KVM_PROBE_CACHE}`);
    assert.equal(cluster.accel.domainType, cached.works ? 'kvm' : 'qemu');
    assert.equal(machineDomainType(), cluster.accel.domainType);
  }
});

void test('node-to-node ssh works inside the namespaces (for peer-to-peer migration)', async () => {
  const r = await cluster.exec(node(1), [
    'ssh',
    'root@127.0.1.13',
    'virsh -q -c qemu:///system pool-list',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /default\s+active/);
});

void test('the template guest boots on node1 and keeps running after live migration to node2', async (t) => {
  const n1 = node(1);
  const n2 = node(2);
  const disk = '/var/lib/libvirt/images/it-guest.qcow2';
  // The template protocol, run on the node as mclu would: build writes the disk.
  const build = await cluster.exec(n1, [
    'env',
    `output=${disk}`,
    'format=qcow2',
    'name=it-guest',
    `size=${64 * 1024 * 1024}`,
    'base_image=tsvirt-tiny',
    join(templatesDir, 'tiny.template'),
    'build',
  ]);
  assert.equal(build.code, 0, build.stderr);
  await virsh(n1.unixUri, 'pool-refresh', 'default');
  const xmlFile = join(cluster.dir, 'it-guest.xml');
  // Under KVM when the probe said it works: then this proves a KVM guest really boots.
  const domainType = cluster.accel.domainType;
  writeFileSync(xmlFile, tinyGuestXml({ name: 'it-guest', disk, domainType }));
  await virsh(n1.unixUri, 'define', xmlFile);

  const booted = Date.now();
  await virsh(n1.unixUri, 'start', 'it-guest');
  const serial1 = join(n1.logDir, serialLogName('it-guest'));
  const line = await waitForLine(serial1, new RegExp(`^${GUEST_MARKER} booted`), 120_000);
  t.diagnostic(`${domainType} guest booted to its marker in ${Date.now() - booted} ms: ${line}`);
  await waitForLine(serial1, new RegExp(`^${GUEST_MARKER} heartbeat 1 `), 30_000);

  const migrated = Date.now();
  await virsh(
    n1.unixUri,
    'migrate',
    '--live',
    '--p2p',
    '--copy-storage-all',
    '--persistent',
    '--undefinesource',
    'it-guest',
    n2.uri,
  );
  t.diagnostic(`live migration with storage took ${Date.now() - migrated} ms`);
  assert.match(await virsh(n2.virshUri, 'domstate', 'it-guest'), /running/);
  assert.doesNotMatch(await virsh(n1.unixUri, 'list', '--all', '--name'), /it-guest/);
  // The same guest, not a reboot: heartbeats on node2 go on counting, with no new boot line.
  const serial2 = join(n2.logDir, serialLogName('it-guest'));
  const heartbeat = await waitForLine(
    serial2,
    new RegExp(`^${GUEST_MARKER} heartbeat \\d+ `),
    30_000,
  );
  assert.ok(Number(/heartbeat (\d+)/.exec(heartbeat)?.[1]) > 1, heartbeat);
  assert.doesNotMatch(readFileSync(serial2, 'utf8'), new RegExp(`${GUEST_MARKER} booted`));
});

void test('stopping leaves no process, mount or file', async () => {
  await cluster.stop();
  assertNothingLeft(cluster);
  await cluster.stop(); // idempotent
});
