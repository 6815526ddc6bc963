// `migrate` under faults, on a real 3-node cluster (127.0.35.x): the target's qemu killed
// and the target powered off during a live migration, the target's libvirtd stopped during
// an offline move, a target without the space, Ctrl-C during a live migration. The guest
// must stay whole on the source, and the target must hold nothing of it afterwards (removed
// by mclu, or by the one command its message gives when the target could not be reached).
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McluCluster, removeCommands, type Run } from '../support/cluster.js';
import type { ClusterNode } from '@tsvirt/testcluster';

let m: McluCluster;

/** Waits until the target runs the incoming qemu of a live migration; returns its pid. */
async function incomingQemu(target: ClusterNode): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const qemu = m.cluster.processes(target).find((p) => p.comm.startsWith('qemu'));
    if (qemu !== undefined) return qemu.pid;
    assert.ok(Date.now() < deadline, `no incoming qemu on ${target.name} within 60 s`);
    await sleep(20);
  }
}

async function assertOnlyOn(name: string, node: string, state: string): Promise<void> {
  for (const n of m.nodes) {
    const { guests, volumes } = await m.holds(n);
    const mine = volumes.filter((v) => v.startsWith(`${name}.`));
    if (n.name === node) {
      assert.equal(guests.get(name), state, `${name} on ${node}`);
      assert.deepEqual(mine, [`${name}.raw`]);
    } else {
      assert.equal(guests.has(name), false, `${name} is also on ${n.name}`);
      assert.deepEqual(mine, [], `a copy of ${name} is left on ${n.name}`);
    }
  }
}

function assertClear(run: Run): void {
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at |Unhandled|failed: End of file while reading data/);
}

void describe('migrate under faults', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    m = await McluCluster.start('mclu-migrate', '127.0.35.', ['format = "raw"']);
    await m.ok('boot', 'tiny', 'node1:m1');
    await m.ok('build', 'fault', 'node1:m2', '--size', '256M');
  });

  after(async () => {
    await m?.stop();
  });

  void test("live, the target's qemu killed: the guest runs on at the source; the target's partial copy is removed", async () => {
    const node2 = m.node('node2');
    const mclu = m.spawn(['migrate', 'm1', 'node2']);
    await mclu.waitFor(/migrating m1 live to node2/);
    const qemu = await incomingQemu(node2);
    // Once the disk copy has begun writing on the target: mid-migration, not mid-start.
    const copy = join(node2.imagesDir, 'm1.raw');
    while (((await stat(copy).catch(() => null))?.blocks ?? 0) === 0) await sleep(10);
    process.kill(qemu, 'SIGKILL');
    const run = await mclu.result();
    assertClear(run);
    assert.match(
      run.stderr,
      /mclu: error: migration of m1 from node1 to node2 failed: the migration's connection to node2 was cut \(its qemu or libvirtd stopped, or the network between the nodes failed\); libvirt on node1 said: .*\nm1 is still running on node1\nundone: removed the partial copy \/var\/lib\/libvirt\/images\/m1\.raw on node2\n$/,
    );
    await assertOnlyOn('m1', 'node1', 'running');
  });

  void test('live, the target powered off: the message names the partial copy left there and the command; the command removes it', async () => {
    const node2 = m.node('node2');
    const mclu = m.spawn(['migrate', 'm1', 'node2']);
    await mclu.waitFor(/migrating m1 live to node2/);
    await incomingQemu(node2);
    await m.cluster.powerOff(node2);
    const run = await mclu.result();
    assertClear(run);
    assert.match(
      run.stderr,
      /migration of m1 from node1 to node2 failed: node2 stopped answering during the migration \(/,
    );
    assert.match(
      run.stderr,
      /\nm1 is still running on node1\nleft on node2 \(node2 does not answer \(.*\)\): the partial copy \/var\/lib\/libvirt\/images\/m1\.raw \(if its creation went through\)\n {2}remove with: mclu delete node2:m1\n$/,
    );
    await m.cluster.powerOn(node2);
    for (const command of removeCommands(run.stderr)) await m.ok(...command);
    await assertOnlyOn('m1', 'node1', 'running');
  });

  void test("offline, the target's libvirtd stopped: the source is untouched; the partial copy is named, and removed with the command", async () => {
    const node3 = m.node('node3');
    const mclu = m.spawn(['migrate', 'm2', 'node3']);
    await mclu.waitFor(/copying \/var\/lib\/libvirt\/images\/m2\.raw to node3/);
    // Once the copy has begun writing on the target.
    const copy = join(node3.imagesDir, 'm2.raw');
    while (((await stat(copy).catch(() => null))?.size ?? 0) === 0) await sleep(10);
    process.kill(node3.libvirtdPid, 'SIGSTOP');
    let run: Run;
    try {
      run = await mclu.result();
    } finally {
      process.kill(node3.libvirtdPid, 'SIGCONT');
    }
    assertClear(run);
    assert.match(
      run.stderr,
      /migration of m2 from node1 to node3 failed: node3 stopped answering during the migration \(.*keepalive timeout/,
    );
    assert.match(
      run.stderr,
      /\nm2 is still shut off on node1\nleft on node3 \(node3 does not answer \(.*\)\): the partial copy m2\.raw in \/var\/lib\/libvirt\/images\n {2}remove with: mclu delete node3:m2\n$/,
    );
    for (const command of removeCommands(run.stderr)) await m.ok(...command);
    await assertOnlyOn('m2', 'node1', 'shut off');
  });

  void test('a target without the disk space is refused before anything is copied', async () => {
    const node3 = m.node('node3');
    await m.mountSmallPool(node3, '32m');
    try {
      const run = await m.run(['migrate', 'm2', 'node3']);
      assertClear(run);
      assert.equal(
        run.stderr,
        "mclu: error: node3 has 32.0M available in its images pool, and the copy of m2's disks needs 256.0M; free some space there, or choose another node\n",
      );
      await assertOnlyOn('m2', 'node1', 'shut off');
    } finally {
      await m.unmountSmallPool(node3);
    }
  });

  void test('Ctrl-C during a live migration: the job is cancelled, the guest stays on the source, nothing on the target', async () => {
    const mclu = m.spawn(['migrate', 'm1', 'node3']);
    await mclu.waitFor(/migrating m1 live to node3/);
    await incomingQemu(m.node('node3'));
    mclu.signal('SIGINT');
    const run = await mclu.result();
    assert.equal(run.code, 130, run.stderr);
    assert.match(
      run.stderr,
      /mclu: error: migration of m1 interrupted\nm1 is still running on node1\n/,
    );
    await assertOnlyOn('m1', 'node1', 'running');
  });

  void test('after all that, a migration works', async () => {
    assert.match(
      await m.ok('migrate', 'm1', 'node3'),
      /migrated m1 \(live\) from node1 to node3; now running/,
    );
    await assertOnlyOn('m1', 'node3', 'running');
    assert.match(
      await m.ok('migrate', 'm2', 'node2'),
      /migrated m2 \(offline\) from node1 to node2/,
    );
    await assertOnlyOn('m2', 'node2', 'shut off');
  });
});
