// Starting again: over a running cluster of the same name, and after a crash (kill -9 of
// every daemon, a guest left running) — both must come up clean and leave nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ClusterError,
  startCluster,
  stopCluster,
  templatesDir,
  tinyGuestXml,
  type Cluster,
} from '../../src/index.js';
import { findProcessesUsing } from '../../src/processes.js';
import { assertNothingLeft, onNodes, virsh } from './helpers.js';

const options = { name: 'it-restart', nodes: 2, addressPrefix: '127.0.1.' } as const;

async function assertWorks(cluster: Cluster): Promise<void> {
  for (const n of onNodes(cluster)) {
    assert.match(
      await virsh(n.virshUri, 'pool-list'),
      /default\s+active/,
      `${n.name} does not answer`,
    );
  }
}

void test('starting twice in a row replaces the first run', async () => {
  const first = await startCluster(options);
  const second = await startCluster(options);
  try {
    await assertWorks(second);
    const firstPids = first.nodes.flatMap((n) => [n.holderPid, n.libvirtdPid, n.sshdPid]);
    const nowRunning = new Set(findProcessesUsing(second.dir).map((p) => p.pid));
    assert.ok(
      firstPids.every((pid) => !nowRunning.has(pid)),
      'processes of the first run are left',
    );
  } finally {
    await second.stop();
  }
  assertNothingLeft(second);
});

void test('a start after a crash (kill -9, guest left running) cleans up and works', async () => {
  const crashed = await startCluster(options);
  const node1 = onNodes(crashed)[0];
  assert.ok(node1 !== undefined);
  const disk = join(node1.imagesDir, 'crash.qcow2');
  const build = spawnSync(join(templatesDir, 'tiny.template'), ['build'], {
    env: { ...process.env, output: disk, format: 'qcow2' },
  });
  assert.equal(build.status, 0, build.stderr.toString());
  const xml = join(crashed.dir, 'crash.xml');
  writeFileSync(xml, tinyGuestXml({ name: 'crash', disk: '/var/lib/libvirt/images/crash.qcow2' }));
  await virsh(node1.unixUri, 'define', xml);
  await virsh(node1.unixUri, 'start', 'crash');
  const guests = findProcessesUsing(crashed.dir).filter((p) => p.comm.startsWith('qemu'));
  assert.equal(guests.length, 1, 'the guest runs');

  // The crash: every daemon and namespace holder killed at once; the guest survives it.
  for (const n of onNodes(crashed)) {
    for (const pid of [n.libvirtdPid, n.sshdPid, n.holderPid]) process.kill(pid, 'SIGKILL');
  }
  const restarted = await startCluster(options);
  try {
    await assertWorks(restarted);
    const left = new Set(findProcessesUsing(restarted.dir).map((p) => p.pid));
    assert.ok(
      guests.every((g) => !left.has(g.pid)),
      'the orphaned guest of the crashed run is still running',
    );
    assert.match(
      await virsh(onNodes(restarted)[0]?.unixUri ?? '', 'list', '--all', '--name'),
      /^\s*$/,
      'the new run starts empty',
    );
  } finally {
    await restarted.stop();
  }
  assertNothingLeft(restarted);
});

void test('an address in use is refused with the fix, and nothing is left', async () => {
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(22, '127.0.1.12', resolve));
  try {
    await assert.rejects(startCluster(options), (error: unknown) => {
      assert.ok(error instanceof ClusterError);
      assert.equal(error.code, 'ADDRESS_IN_USE');
      assert.match(
        error.message,
        /node2's address 127\.0\.1\.12 port 22 is already in use; stop what listens there/,
      );
      assert.match(error.message, /--address-prefix/);
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
  await stopCluster(options.name);
});

void test('an address held by another test cluster names that cluster', async () => {
  const holder = await startCluster({ ...options, nodes: 1 });
  try {
    await assert.rejects(startCluster({ ...options, name: 'it-other' }), (error: unknown) => {
      assert.ok(error instanceof ClusterError);
      assert.equal(error.code, 'ADDRESS_IN_USE');
      assert.match(
        error.message,
        /belongs to test cluster "it-restart": stop it with testcluster down --name it-restart/,
      );
      return true;
    });
  } finally {
    await holder.stop();
  }
  await stopCluster('it-other');
});

void test('a missing program names its Debian package and the install script', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  // With a PATH of sbin directories only, virsh, ssh, qemu... (in /usr/bin) are missing.
  const r = spawnSync(process.execPath, [cli, 'up', '--name', 'it-missing'], {
    encoding: 'utf8',
    env: { PATH: '/usr/sbin' },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /^testcluster: missing virt-ssh-helper, virsh, qemu-system-x86_64, .*\(Debian packages libvirt-daemon libvirt-clients qemu-system-x86 .*\); run scripts\/install-debian-packages/,
  );
});

void test('not root: the CLI says so and what to do', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(
    'setpriv',
    ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, 'up'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^testcluster: the test cluster needs root: .*run it as root/);
});
