import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootGuest, choosePlacement } from '../../src/boot.js';
import { Cluster, type Connector } from '../../src/cluster.js';
import { parseConfig } from '../../src/config.js';
import { domainXml, parseDomainXml } from '../../src/domain-xml.js';
import { OperationError } from '../../src/errors.js';
import { deleteGuest, findGuest } from '../../src/guests.js';
import { clusterStatus, listGuests, type NodeStatus } from '../../src/status.js';
import { FakeNode } from './fake-node.js';

function configFor(templatesDir = '/nonexistent'): ReturnType<typeof parseConfig> {
  return parseConfig(
    `[defaults]\nmemory = "256M"\nimages = "/images"\nconnect_timeout = 1\ntemplates = ["${templatesDir}"]\n` +
      '[nodes.a]\nhost = "a"\n[nodes.b]\nhost = "b"\n[nodes.dead]\nhost = "dead"\n[nodes.silent]\nhost = "silent"\n',
    '/test/mclu.conf',
  );
}

function fakes(): { a: FakeNode; b: FakeNode; connector: Connector } {
  const a = new FakeNode('a');
  const b = new FakeNode('b');
  a.domains.push(
    { name: 'web', state: 'running', vcpus: 2, memoryKiB: 1 << 20, xml: '' },
    { name: 'old', state: 'shut off', vcpus: 1, memoryKiB: 1 << 19, xml: '' },
  );
  b.domains.push({ name: 'db', state: 'paused', vcpus: 4, memoryKiB: 2 << 20, xml: '' });
  const connector: Connector = (node) => {
    if (node.name === 'a') return Promise.resolve(a);
    if (node.name === 'b') return Promise.resolve(b);
    if (node.name === 'dead')
      return Promise.reject(new Error('ssh: connect to host dead port 22: Connection refused'));
    return new Promise(() => undefined); // never answers: the backstop timeout must end it
  };
  return { a, b, connector };
}

void test('status reports every node; unreachable and silent nodes are off with a reason', async () => {
  const { connector } = fakes();
  const cluster = await Cluster.open(configFor(), connector);
  const statuses = await clusterStatus(cluster);
  await cluster.close();
  assert.deepEqual(
    statuses.map((s) => [s.name, s.state, s.guests, s.usedVcpus, s.usedMemoryBytes]),
    [
      ['a', 'on', 1, 2, 1n << 30n],
      ['b', 'on', 1, 4, 2n << 30n],
      ['dead', 'off', null, null, null],
      ['silent', 'off', null, null, null],
    ],
  );
  assert.equal(statuses[2]?.error, 'ssh: connect to host dead port 22: Connection refused');
  assert.match(statuses[3]?.error ?? '', /no answer within 1 s/);
});

void test('list shows the active guests of the reachable nodes, --all the others too', async () => {
  const { connector, a } = fakes();
  const cluster = await Cluster.open(configFor(), connector, ['a', 'b', 'dead']);
  const active = await listGuests(cluster, false);
  const all = await listGuests(cluster, true);
  await cluster.close();
  assert.equal(a.closed, true);
  assert.deepEqual(
    active.guests.map((g) => `${g.name}@${g.node}:${g.state}`),
    ['db@b:paused', 'web@a:running'],
  );
  assert.deepEqual(
    all.guests.map((g) => g.name),
    ['db', 'old', 'web'],
  );
  assert.deepEqual(
    active.unreachable.map((u) => u.node),
    ['dead'],
  );
});

void test('an unknown guest gets a clear error naming the unreachable nodes', async () => {
  const { connector } = fakes();
  const cluster = await Cluster.open(configFor(), connector, ['a', 'dead']);
  await assert.rejects(findGuest(cluster, 'nope'), {
    code: 'UNKNOWN_GUEST',
    message: /no guest named "nope" on any reachable node \(not asked, unreachable: dead\)/,
  });
  await assert.rejects(findGuest(cluster, 'zz:web'), {
    code: 'UNKNOWN_NODE',
    message: /unknown node "zz"; the nodes in \/test\/mclu\.conf are: a, b, dead, silent/,
  });
  assert.equal((await findGuest(cluster, 'a:web')).session.node.name, 'a');
});

void test('placement prefers the most free memory among nodes with room', () => {
  const node = (name: string, free: number, pcpus = 4, used = 0): NodeStatus => ({
    name,
    state: 'on',
    pcpus,
    memoryBytes: 1000n,
    usedVcpus: 0,
    usedMemoryBytes: BigInt(used),
    guests: 0,
    freeMemoryBytes: BigInt(free),
  });
  assert.equal(
    choosePlacement([node('a', 100), node('b', 300), node('c', 200)], 50n, 1)?.name,
    'b',
  );
  assert.equal(choosePlacement([node('a', 100), node('b', 300, 1)], 50n, 2)?.name, 'a');
  assert.equal(choosePlacement([node('a', 100)], 500n, 1), null);
  // Memory promised to running guests counts against a node, so equal nodes take turns.
  assert.equal(choosePlacement([node('a', 300, 4, 50), node('b', 290)], 50n, 1)?.name, 'b');
});

void test('generated domain XML reads back with its disk, interface and console', () => {
  const xml = domainXml({
    name: "t'1",
    domainType: 'qemu',
    memoryBytes: 128n << 20n,
    vcpus: 1,
    disk: { path: '/images/t.qcow2', format: 'qcow2', bus: 'virtio' },
    network: 'user',
  });
  assert.match(xml, /<domain type='qemu'>/);
  assert.match(xml, /<name>t&apos;1<\/name>/);
  assert.match(xml, /<log file='\/var\/log\/libvirt\/qemu\/t&apos;1-serial.log' append='on'\/>/);
  const parsed = parseDomainXml(xml);
  assert.deepEqual(parsed.disks, [
    {
      device: 'disk',
      source: '/images/t.qcow2',
      volume: null,
      target: 'vda',
      bus: 'virtio',
      format: 'qcow2',
    },
  ]);
  assert.deepEqual(parsed.interfaces, [{ type: 'user', mac: null, source: null, model: 'virtio' }]);
  assert.deepEqual(parsed.consoles, ["pty (log /var/log/libvirt/qemu/t'1-serial.log)"]);
  const kvm = domainXml({
    name: 'n',
    domainType: 'kvm',
    memoryBytes: 1n << 30n,
    vcpus: 2,
    disk: { path: '/p', format: 'raw', bus: 'ide' },
    network: 'default',
  });
  assert.match(kvm, /<interface type='network'>\s*<source network='default'\/>/);
  assert.match(kvm, /<target dev='hda' bus='ide'\/>/);
});

async function withTemplate(script: string, work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mclu-unit-'));
  try {
    await writeFile(join(dir, 'tiny.template'), script);
    await chmod(join(dir, 'tiny.template'), 0o755);
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const TEMPLATE = `#!/bin/sh
case "$1" in
  probe) echo hello ;;
  base-image) echo tiny-1 ;;
  build) printf 'disk of %s size=%s format=%s base=%s' "$name" "$size" "$format" "$base_image" > "$output" ;;
  *) exit 2 ;;
esac
`;

void test('boot builds with the template, uploads into a new pool, defines and starts; placement is printed', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    const { a, b, connector } = fakes();
    b.freeBytes = 12n << 30n;
    const cluster = await Cluster.open(configFor(dir), connector, ['a', 'b']);
    const steps: string[] = [];
    const result = await bootGuest(
      cluster,
      { template: 'tiny', target: 'g1', sizeBytes: 1n << 30n, start: true },
      { onStep: (s) => steps.push(s) },
    );
    assert.equal(result.node, 'b');
    assert.equal(result.placed, true);
    assert.equal(result.state, 'running');
    assert.equal(result.diskPath, '/images/g1.qcow2');
    assert.match(steps[0] ?? '', /placing g1 on b \(most free memory: 12\.0G\)/);
    const disk = Buffer.concat(b.volumes.get('/images/g1.qcow2')?.bytes ?? []).toString();
    assert.equal(disk, 'disk of g1 size=1073741824 format=qcow2 base=tiny-1');
    assert.deepEqual(b.calls, [
      'define pool mclu-images',
      'create vol g1.qcow2',
      'define',
      'start g1',
    ]);
    const xml = b.domains.find((d) => d.name === 'g1')?.xml ?? '';
    assert.match(xml, /<target dev='vda' bus='virtio'\/>/); // disk-bus unknown to the template: default
    assert.equal(a.calls.length, 0);
    await assert.rejects(bootGuest(cluster, { template: 'tiny', target: 'a:g1', start: true }), {
      code: 'GUEST_EXISTS',
      message: /a guest named g1 already exists on b/,
    });
    await assert.rejects(bootGuest(cluster, { template: 'huge', target: 'g2', start: true }), {
      code: 'UNKNOWN_TEMPLATE',
      message: /no template "huge".*templates found: tiny/,
    });
    await cluster.close();
  });
});

void test('a failed boot removes what it created and says which step failed', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    const { a, connector } = fakes();
    a.failDefine = true;
    a.pools.push({ ref: { name: 'default', uuid: 'd' }, path: '/images', active: true });
    const cluster = await Cluster.open(configFor(dir), connector, ['a']);
    const error = await bootGuest(cluster, { template: 'tiny', target: 'a:g1', start: true }).catch(
      (e: unknown) => e,
    );
    assert.ok(error instanceof OperationError);
    assert.equal(error.code, 'BOOT_FAILED');
    assert.match(
      error.message,
      /boot of g1 failed while defining the guest on a: XML error: refused by the fake \(removed disk \/images\/g1\.qcow2\)/,
    );
    assert.equal(a.volumes.size, 0);
    assert.deepEqual(a.calls, ['create vol g1.qcow2', 'define', 'delete vol g1.qcow2']);
    await cluster.close();
  });
});

void test('a failing template build is reported with its message and nothing is left', async () => {
  await withTemplate(
    '#!/bin/sh\n[ "$1" = probe ] && echo hello && exit 0\n[ "$1" = build ] && echo "no space left" >&2 && exit 1\nexit 2\n',
    async (dir) => {
      const { a, connector } = fakes();
      const cluster = await Cluster.open(configFor(dir), connector, ['a']);
      await assert.rejects(bootGuest(cluster, { template: 'tiny', target: 'a:g1', start: false }), {
        code: 'BOOT_FAILED',
        message:
          /while building the disk: .*tiny\.template build failed \(status 1\): no space left/,
      });
      assert.deepEqual(a.calls, []);
      await cluster.close();
    },
  );
});

void test('delete undefines the guest and removes the volumes named in its XML', async () => {
  const { a, connector } = fakes();
  a.pools.push({ ref: { name: 'default', uuid: 'd' }, path: '/images', active: true });
  const vol = await a.createStorageVolXml(
    { name: 'default', uuid: 'd' },
    '<volume><name>web.qcow2</name></volume>',
  );
  const web = a.domains.find((d) => d.name === 'web');
  assert.ok(web);
  web.xml = domainXml({
    name: 'web',
    domainType: 'qemu',
    memoryBytes: 1n << 30n,
    vcpus: 1,
    disk: { path: vol.key, format: 'qcow2', bus: 'virtio' },
    network: 'user',
  });
  const cluster = await Cluster.open(configFor(), connector, ['a']);
  const result = await deleteGuest(await findGuest(cluster, 'web'));
  assert.deepEqual(result, { removedDisks: ['/images/web.qcow2'], keptDisks: [] });
  assert.equal(
    a.domains.some((d) => d.name === 'web'),
    false,
  );
  assert.equal(a.volumes.size, 0);
  await cluster.close();
});
