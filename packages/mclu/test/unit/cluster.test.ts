import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  bootGuest,
  choosePlacement,
  prepareBoot,
  type BootRequest,
  type BootResult,
} from '../../src/boot.js';
import { Cluster, type Connector } from '../../src/cluster.js';
import { parseConfig } from '../../src/config.js';
import { domainXml, parseDomainXml, withDiskPaths } from '../../src/domain-xml.js';
import { OperationError } from '../../src/errors.js';
import { deleteGuest, deleteLoneVolumes, findGuest, findLoneVolumes } from '../../src/guests.js';
import { migrateGuest } from '../../src/migrate.js';
import { clusterStatus, listGuests, type NodeStatus } from '../../src/status.js';
import { FakeNode } from './fake-node.js';

function configFor(templatesDir = '/nonexistent'): ReturnType<typeof parseConfig> {
  return parseConfig(
    `[defaults]\nmemory = "256M"\nimages = "/images"\nconnect_timeout = 1\ntemplates = ["${templatesDir}"]\n` +
      '[nodes.a]\nhost = "a"\n[nodes.b]\nhost = "b"\n[nodes.dead]\nhost = "dead"\n[nodes.silent]\nhost = "silent"\n',
    '/test/mclu.conf',
  );
}

const UUID = '5f2b4c1e-0000-4000-8000-000000000001';

/** prepareBoot, then bootGuest, as the command line does. */
async function boot(cluster: Cluster, request: BootRequest, steps?: string[]): Promise<BootResult> {
  const events = steps === undefined ? {} : { onStep: (s: string) => steps.push(s) };
  return bootGuest(cluster, await prepareBoot(cluster.config, request, events), events);
}

function fakes(): { a: FakeNode; b: FakeNode; connector: Connector } {
  const a = new FakeNode('a');
  const b = new FakeNode('b');
  for (const node of [a, b])
    node.networks = [{ ref: { name: 'default', uuid: 'n0' }, active: true }];
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
    uuid: UUID,
    domainType: 'qemu',
    arch: 'aarch64',
    memoryBytes: 128n << 20n,
    vcpus: 1,
    disk: { path: '/images/t.qcow2', format: 'qcow2', bus: 'virtio' },
    network: 'user',
  });
  assert.match(xml, /<domain type="qemu">/);
  assert.match(xml, /<name>t&apos;1<\/name>/);
  assert.match(xml, new RegExp(`<uuid>${UUID}</uuid>`));
  assert.match(xml, /<type arch="aarch64">hvm<\/type>/);
  assert.match(xml, /<log file="\/var\/log\/libvirt\/qemu\/t&apos;1-serial.log" append="on"\/>/);
  const parsed = parseDomainXml(xml);
  assert.equal(parsed.uuid, UUID);
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
    uuid: UUID,
    domainType: 'kvm',
    arch: 'x86_64',
    memoryBytes: 1n << 30n,
    vcpus: 2,
    disk: { path: '/p', format: 'raw', bus: 'ide' },
    network: 'default',
  });
  assert.match(kvm, /<interface type="network">\s*<source network="default"\/>/);
  assert.match(kvm, /<target dev="hda" bus="ide"\/>/);
});

void test('domain XML as libvirt writes it: a disk <serial> is not a console, entities and quotes are read', () => {
  const xml = `<domain type='kvm' id='3'>
  <name>pet&amp;co</name>
  <uuid>${UUID}</uuid>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file="/var/lib/libvirt/images/pet.qcow2"/>
      <target dev='vda' bus='virtio'/>
      <serial>WD-123</serial>
    </disk>
    <disk type='volume' device='cdrom'>
      <source pool='isos' volume='debian.iso'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:00:00:01'/>
      <source network='default'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/4'/>
      <target port='0'/>
    </serial>
    <console type='pty' tty='/dev/pts/4'/>
    <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>`;
  const parsed = parseDomainXml(xml);
  assert.deepEqual(parsed.consoles, ['pty /dev/pts/4']);
  assert.deepEqual(
    parsed.disks.map((d) => [d.device, d.source, d.volume?.name ?? null, d.target]),
    [
      ['disk', '/var/lib/libvirt/images/pet.qcow2', null, 'vda'],
      ['cdrom', 'isos/debian.iso', 'debian.iso', 'sda'],
    ],
  );
  assert.deepEqual(parsed.interfaces[0], {
    type: 'network',
    mac: '52:54:00:00:00:01',
    source: 'default',
    model: null,
  });
  assert.deepEqual(parsed.graphics, [{ type: 'vnc', port: '5900', listen: '127.0.0.1' }]);
  // An offline move rewrites only the disk's path; the rest reads back the same.
  const moved = withDiskPaths(
    xml,
    new Map([['/var/lib/libvirt/images/pet.qcow2', '/srv/images/pet.qcow2']]),
  );
  const again = parseDomainXml(moved);
  assert.equal(again.disks[0]?.source, '/srv/images/pet.qcow2');
  assert.deepEqual(again.interfaces, parsed.interfaces);
  assert.deepEqual(again.consoles, parsed.consoles);
  assert.match(moved, /<name>pet&amp;co<\/name>/);
  assert.match(moved, /<serial>WD-123<\/serial>/);
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
    const result = await boot(
      cluster,
      { template: 'tiny', target: 'g1', sizeBytes: 1n << 30n, start: true },
      steps,
    );
    assert.equal(result.node, 'b');
    assert.equal(result.placed, true);
    assert.equal(result.state, 'running');
    assert.equal(result.diskPath, '/images/g1.qcow2');
    assert.deepEqual(steps, [
      'asking template tiny',
      'placing g1 on b (most free memory: 12.0G)',
      'checking b',
      'claiming the name g1 on b',
      'building the disk with template tiny',
      'uploading the disk to b',
      'starting g1 on b',
    ]);
    const disk = Buffer.concat(b.volumes.get('/images/g1.qcow2')?.bytes ?? []).toString();
    assert.equal(disk, 'disk of g1 size=1073741824 format=qcow2 base=tiny-1');
    // The name is claimed (defined) before the disk is built.
    assert.deepEqual(b.calls, [
      'define pool mclu-images',
      'define',
      'create vol g1.qcow2',
      'start g1',
    ]);
    const xml = b.domains.find((d) => d.name === 'g1')?.xml ?? '';
    assert.match(xml, /<target dev="vda" bus="virtio"\/>/); // disk-bus unknown to the template: default
    assert.equal(a.calls.length, 0);
    await assert.rejects(boot(cluster, { template: 'tiny', target: 'a:g1', start: true }), {
      code: 'GUEST_EXISTS',
      message: /a guest named g1 already exists on b/,
    });
    await assert.rejects(boot(cluster, { template: 'huge', target: 'g2', start: true }), {
      code: 'UNKNOWN_TEMPLATE',
      message: /no template "huge".*templates found: tiny/,
    });
    await cluster.close();
  });
});

void test('a failed boot removes what it created and says which step failed', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    const { a, connector } = fakes();
    a.failStart = true;
    a.pools.push({ ref: { name: 'default', uuid: 'd' }, path: '/images', active: true });
    const cluster = await Cluster.open(configFor(dir), connector, ['a']);
    const error = await boot(cluster, { template: 'tiny', target: 'a:g1', start: true }).catch(
      (e: unknown) => e,
    );
    assert.ok(error instanceof OperationError);
    assert.equal(error.code, 'BOOT_FAILED');
    assert.equal(
      error.message,
      'boot of g1 failed while starting g1 on a: internal error: qemu refused by the fake\n' +
        'undone: removed the disk volume /images/g1.qcow2 on a; removed the definition of g1 on a',
    );
    assert.equal(a.volumes.size, 0);
    assert.equal(
      a.domains.some((d) => d.name === 'g1'),
      false,
    );
    assert.deepEqual(a.calls, [
      'define',
      'create vol g1.qcow2',
      'start g1',
      'delete vol g1.qcow2',
      'undefine g1',
    ]);
    await cluster.close();
  });
});

void test('a definition refused by libvirt leaves nothing to undo', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    const { a, connector } = fakes();
    a.failDefine = true;
    const cluster = await Cluster.open(configFor(dir), connector, ['a']);
    await assert.rejects(boot(cluster, { template: 'tiny', target: 'a:g1', start: true }), {
      code: 'BOOT_FAILED',
      message:
        /^boot of g1 failed while claiming the name g1 on a: XML error: refused by the fake$/,
    });
    assert.deepEqual(a.calls, ['define pool mclu-images', 'define']);
    await cluster.close();
  });
});

void test('a failing template build is reported with its message; the claimed name is released', async () => {
  await withTemplate(
    '#!/bin/sh\n[ "$1" = probe ] && echo hello && exit 0\n[ "$1" = build ] && echo "no space left" >&2 && exit 1\nexit 2\n',
    async (dir) => {
      const { a, connector } = fakes();
      const cluster = await Cluster.open(configFor(dir), connector, ['a']);
      await assert.rejects(boot(cluster, { template: 'tiny', target: 'a:g1', start: false }), {
        code: 'BOOT_FAILED',
        message:
          /^build of g1 failed while building the disk with template tiny: .*tiny\.template build failed \(status 1\): no space left\nundone: removed the definition of g1 on a$/,
      });
      assert.deepEqual(a.calls, ['define pool mclu-images', 'define', 'undefine g1']);
      await cluster.close();
    },
  );
});

void test('fail early: no network, an inactive one, no room, no KVM: refused before anything is made', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    const { a, connector } = fakes();
    const cluster = await Cluster.open(configFor(dir), connector, ['a']);
    const refused = async (message: RegExp, code = 'BOOT_FAILED'): Promise<void> => {
      a.calls = [];
      await assert.rejects(boot(cluster, { template: 'tiny', target: 'a:g1', start: true }), {
        code,
        message,
      });
      assert.deepEqual(
        a.calls.filter((c) => !c.startsWith('define pool')),
        [],
      );
    };
    cluster.config.defaults.network = 'lan';
    a.networks = [{ ref: { name: 'default', uuid: 'n1' }, active: true }];
    await refused(
      /^cannot boot g1 on a: it has no network named lan \(its networks: default\); set \[defaults\] network/,
    );
    a.networks.push({ ref: { name: 'lan', uuid: 'n2' }, active: false });
    await refused(
      /^cannot boot g1 on a: its network lan is not active; start it there \(virsh net-start lan\)/,
    );
    cluster.config.defaults.network = 'user';
    cluster.config.defaults.sizeBytes = 20n << 30n;
    a.poolAvailable = 5n << 30n;
    await refused(
      /^a has 5\.0G available in its images pool, and the disk needs 20\.0G; free some space there/,
      'NO_ROOM',
    );
    a.poolAvailable = 100n << 30n;
    cluster.config.defaults.domainType = 'kvm';
    a.domainTypes = ['qemu'];
    await refused(
      /^cannot boot g1 on a: it cannot run kvm guests for its architecture x86_64 \(it can run: qemu x86_64\); without KVM on it, set domain_type = "qemu"/,
    );
    await cluster.close();
  });
});

void test('two boots of one name at once, on two nodes or on one: exactly one wins, the other leaves nothing', async () => {
  await withTemplate(TEMPLATE, async (dir) => {
    for (const [first, second] of [
      ['a:r', 'b:r'],
      ['a:r', 'a:r'],
    ] as const) {
      const { a, b, connector } = fakes();
      const cluster = await Cluster.open(configFor(dir), connector, ['a', 'b']);
      const results = await Promise.allSettled([
        boot(cluster, { template: 'tiny', target: first, start: false }),
        boot(cluster, { template: 'tiny', target: second, start: false }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1, `${first} and ${second}: ${JSON.stringify(results)}`);
      assert.match(
        String((lost[0] as PromiseRejectedResult).reason),
        /GUEST_EXISTS|same time|already exists/,
      );
      const holders = [a, b].flatMap((n) => n.domains.filter((d) => d.name === 'r'));
      assert.equal(holders.length, 1);
      const volumes = [a, b].flatMap((n) =>
        [...n.volumes.keys()].filter((k) => k.endsWith('/r.qcow2')),
      );
      assert.equal(volumes.length, 1);
      await cluster.close();
    }
  });
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
    uuid: UUID,
    domainType: 'qemu',
    arch: 'x86_64',
    memoryBytes: 1n << 30n,
    vcpus: 1,
    disk: { path: vol.key, format: 'qcow2', bus: 'virtio' },
    network: 'user',
  });
  const cluster = await Cluster.open(configFor(), connector, ['a']);
  const result = await deleteGuest(await findGuest(cluster, 'web'), '/images');
  assert.deepEqual(result, { removedDisks: ['/images/web.qcow2'], keptDisks: [], absentDisks: [] });
  assert.equal(
    a.domains.some((d) => d.name === 'web'),
    false,
  );
  assert.equal(a.volumes.size, 0);
  await cluster.close();
});

void test('a lone NAME.FORMAT volume is found for delete, unless a guest uses it', async () => {
  const { a, connector } = fakes();
  a.pools.push({ ref: { name: 'default', uuid: 'd' }, path: '/images', active: true });
  const pool = { name: 'default', uuid: 'd' };
  await a.createStorageVolXml(pool, '<volume><name>ghost.qcow2</name></volume>');
  await a.createStorageVolXml(pool, '<volume><name>web.raw</name></volume>');
  const web = a.domains.find((d) => d.name === 'web');
  assert.ok(web);
  web.xml = `<domain><name>web</name><devices><disk device='disk'><source file='/images/web.raw'/></disk></devices></domain>`;
  const old = a.domains.find((d) => d.name === 'old');
  assert.ok(old);
  old.xml = '<domain><name>old</name></domain>';
  const cluster = await Cluster.open(configFor(), connector, ['a']);
  const lone = await findLoneVolumes(cluster, 'ghost', null);
  assert.deepEqual(
    lone.map((v) => v.path),
    ['/images/ghost.qcow2'],
  );
  assert.deepEqual(await findLoneVolumes(cluster, 'web', 'a'), []);
  assert.deepEqual(await deleteLoneVolumes(lone), ['/images/ghost.qcow2 on a']);
  assert.equal(a.volumes.has('/images/ghost.qcow2'), false);
  assert.equal(a.volumes.has('/images/web.raw'), true);
  await cluster.close();
});

void test('a live migration to a node without the memory is refused before anything moves', async () => {
  const { a, b, connector } = fakes();
  const web = a.domains.find((d) => d.name === 'web');
  assert.ok(web);
  web.xml = '<domain><name>web</name><devices/></domain>';
  b.freeBytes = 512n << 20n;
  const cluster = await Cluster.open(configFor(), connector, ['a', 'b']);
  await assert.rejects(migrateGuest(cluster, await findGuest(cluster, 'web'), 'b'), {
    code: 'NO_ROOM',
    message:
      'b has 512.0M of free memory and web uses 1.0G; free some memory there, or choose another node',
  });
  assert.deepEqual(
    b.calls.filter((c) => !c.startsWith('define pool')),
    [],
  );
  assert.equal(web.state, 'running');
  await cluster.close();
});
