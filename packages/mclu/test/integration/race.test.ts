// Unique names under concurrency: two `mclu build` (and one `boot`) of the same name started
// at the same moment, on two nodes, on one node, and placed by mclu. In every round exactly
// one wins, the loser fails cleanly and leaves nothing, and the winner's guest and disk are
// intact: judged by virsh on every node. The race is decided before any disk is built, so
// the rounds use a fast template; one round boots the real test guest.
import { GUEST_MARKER } from '@tsvirt/testcluster';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { McluCluster, type Run } from '../support/cluster.js';

const run = promisify(execFile);
let m: McluCluster;

type Placement = 'two nodes' | 'one node' | 'placed';
const ROUNDS: Placement[] = [
  ...Array<Placement>(8).fill('two nodes'),
  ...Array<Placement>(8).fill('one node'),
  ...Array<Placement>(6).fill('placed'),
];

function targets(placement: Placement, name: string): [string, string] {
  switch (placement) {
    case 'two nodes':
      return [`node1:${name}`, `node2:${name}`];
    case 'one node':
      return [`node3:${name}`, `node3:${name}`];
    case 'placed':
      return [name, name];
  }
}

/** Checks one round with virsh on every node; returns the winner's node. */
async function judge(name: string, runs: Run[], verb: 'built' | 'booted'): Promise<string> {
  const won = runs.filter((r) => r.code === 0);
  const lost = runs.filter((r) => r.code !== 0);
  const transcript = runs.map((r) => `[${r.code}] ${r.stdout}${r.stderr}`).join('\n---\n');
  assert.equal(won.length, 1, `exactly one must win:\n${transcript}`);
  assert.equal(lost[0]?.code, 1, transcript);
  assert.match(
    lost[0]?.stderr ?? '',
    new RegExp(
      `mclu: error: (a guest named ${name} already exists on node\\d|.*a guest named ${name} was defined on node\\d at the same time)`,
    ),
  );
  assert.doesNotMatch(lost[0]?.stderr ?? '', /left on|\n\s+at /);
  const node = new RegExp(`${verb} ${name} on (node\\d)`).exec(won[0]?.stdout ?? '')?.[1];
  assert.ok(node, transcript);
  for (const n of m.nodes) {
    const { guests, volumes } = await m.holds(n);
    const mine = volumes.filter((v) => v.startsWith(`${name}.`));
    if (n.name === node) {
      assert.ok(guests.has(name), `${name} missing on ${node}`);
      assert.deepEqual(mine, [`${name}.qcow2`]);
    } else {
      assert.equal(guests.has(name), false, `${name} also on ${n.name}:\n${transcript}`);
      assert.deepEqual(mine, [], `a volume of ${name} on ${n.name}`);
    }
  }
  // The winner is intact: its definition names its disk, and the disk is a sound image.
  const winner = m.node(node);
  const disk = `/var/lib/libvirt/images/${name}.qcow2`;
  assert.match(await m.virsh(winner, 'domblklist', name), new RegExp(`vda\\s+${disk}`));
  const { stdout } = await run('qemu-img', [
    'info',
    '-U', // a running guest holds the image's lock
    '--output=json',
    join(winner.imagesDir, `${name}.qcow2`),
  ]);
  assert.equal((JSON.parse(stdout) as { format: string }).format, 'qcow2');
  return node;
}

void describe('two boots of one name at once', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    m = await McluCluster.start('mclu-race', '127.0.33.');
  });

  after(async () => {
    await m?.stop();
  });

  void test(`${ROUNDS.length} rounds of two concurrent builds: exactly one wins, the loser leaves nothing`, async (t) => {
    const outcomes = new Map<string, number>();
    for (const [i, placement] of ROUNDS.entries()) {
      const name = `r${i + 1}`;
      const [a, b] = targets(placement, name);
      const runs = await Promise.all([m.run(['build', 'fault', a]), m.run(['build', 'fault', b])]);
      const node = await judge(name, runs, 'built');
      const how = /at the same time/.test(runs.map((r) => r.stderr).join(''))
        ? 'claim tie-break'
        : 'seen before claiming';
      outcomes.set(`${placement}, ${how}`, (outcomes.get(`${placement}, ${how}`) ?? 0) + 1);
      await m.ok('delete', `${node}:${name}`, '--yes');
      await m.assertNothingOf(name);
    }
    t.diagnostic(`how the loser lost: ${[...outcomes].map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  });

  void test('two concurrent boots of the real guest, placed: one runs, the other left nothing', async () => {
    const runs = await Promise.all([
      m.run(['boot', 'tiny', 'live']),
      m.run(['boot', 'tiny', 'live']),
    ]);
    const node = m.node(await judge('live', runs, 'booted'));
    assert.equal((await m.holds(node)).guests.get('live'), 'running');
    const log = join(node.logDir, 'qemu', 'live-serial.log');
    const deadline = Date.now() + 180_000;
    while (!(await readFile(log, 'utf8').catch(() => '')).includes(`${GUEST_MARKER} booted`)) {
      assert.ok(Date.now() < deadline, 'the winner did not boot within 180 s');
      await sleep(500);
    }
    await m.ok('delete', 'live', '--yes');
    await m.assertNothingOf('live');
  });
});
