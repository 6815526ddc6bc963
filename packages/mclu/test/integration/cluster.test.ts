// mclu against a real 3-node cluster (testing/cluster: libvirtd + sshd per node, on
// 127.0.3.x) plus one configured node that is off and one address where nothing listens.
// The CLI runs as a subprocess, exactly as a user runs it; virsh on each node is the judge.
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, GUEST_MARKER, type Cluster, type ClusterNode } from '@tsvirt/testcluster';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Cluster as McluCluster,
  clusterStatus,
  libvirtConnector,
  loadConfig,
} from '../../src/index.js';
import { magicPacket } from '../../src/wol.js';
import { stopSshMasters } from '../support/cluster.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const GHOST = '127.0.3.99'; // nothing listens here: "unreachable"

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let cluster: Cluster;
let work: string;
let config: string;
let wolListener: Socket;
let wolPort: number;

function mclu(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, '-f', config, ...args],
      { timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

async function ok(...args: string[]): Promise<string> {
  const run = await mclu(...args);
  assert.equal(
    run.code,
    0,
    `mclu ${args.join(' ')} failed (${run.code}):\n${run.stderr}${run.stdout}`,
  );
  return run.stdout;
}

async function virsh(node: ClusterNode, ...args: string[]): Promise<string> {
  const r = await cluster.exec(node, ['virsh', '-q', '-c', 'qemu:///system', ...args]);
  assert.equal(r.code, 0, `virsh ${args.join(' ')} on ${node.name}: ${r.stderr}`);
  return r.stdout;
}

function node(name: string): ClusterNode {
  const found = cluster.nodes.find((n) => n.name === name);
  assert.ok(found, `no ${name} in the test cluster`);
  return found;
}

/** virsh's view of one node's guests: name -> state. */
async function virshGuests(n: ClusterNode): Promise<Map<string, string>> {
  const names = (await virsh(n, 'list', '--all', '--name'))
    .split('\n')
    .filter((l) => l.trim() !== '');
  const entries = await Promise.all(
    names.map(async (name) => [name, (await virsh(n, 'domstate', name)).trim()] as const),
  );
  return new Map(entries);
}

async function serialLog(n: ClusterNode, guest: string): Promise<string> {
  return readFile(join(n.logDir, 'qemu', `${guest}-serial.log`), 'utf8').catch(() => '');
}

/** Waits until the guest's serial log on `n` matches `pattern`; returns the log. */
async function waitForSerial(
  n: ClusterNode,
  guest: string,
  pattern: RegExp,
  timeoutMs = 180_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await serialLog(n, guest);
    if (pattern.test(log)) return log;
    if (Date.now() > deadline)
      assert.fail(
        `${guest} on ${n.name}: ${pattern} not seen in its serial log within ${timeoutMs / 1000} s; log:\n${log.slice(-2000)}`,
      );
    await sleep(500);
  }
}

const heartbeats = (log: string): number => log.split(`${GUEST_MARKER} heartbeat`).length - 1;

void describe('mclu on a real cluster', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    cluster = await startCluster({
      name: 'mclu-it',
      nodes: 3,
      offNodes: 1,
      addressPrefix: '127.0.3.',
    });
    work = await mkdtemp(join(tmpdir(), 'mclu-it-'));
    wolListener = createSocket('udp4');
    wolListener.bind(0, '127.0.0.1');
    await once(wolListener, 'listening');
    wolPort = wolListener.address().port;
    // The cluster's own configuration, with wake-on-LAN aimed at our listener, plus a
    // node at an address where nothing answers.
    const text = (await readFile(cluster.mcluConfig, 'utf8'))
      .replace(/^wol_address = .*$/gm, `wol_address = "127.0.0.1:${wolPort}"`)
      // The tests' own ssh masters, stopped at the end.
      .replace(
        /^\[defaults\]$/m,
        `[defaults]\nssh_control_dir = ${JSON.stringify(join(work, 'cm'))}`,
      );
    config = join(work, 'mclu.conf');
    await writeFile(
      config,
      `${text}\n[nodes.ghost]\nhost = "root@${GHOST}"\nmac = "02:00:00:00:00:99"\n`,
    );
  });

  after(async () => {
    wolListener?.close();
    if (work) await stopSshMasters(join(work, 'cm'));
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  void test('status matches virsh on every node; the off node and the unreachable one are reported', async () => {
    const json = JSON.parse(await ok('status', '--json')) as { nodes: Record<string, unknown>[] };
    const on = cluster.nodes.filter((n) => n.state === 'on');
    const off = cluster.nodes.filter((n) => n.state === 'off');
    assert.equal(on.length, 3);
    assert.equal(off.length, 1);
    assert.deepEqual(
      json.nodes.map((n) => n['name']),
      [...cluster.nodes.map((n) => n.name), 'ghost'],
    );
    for (const n of on) {
      const status = json.nodes.find((s) => s['name'] === n.name);
      const info = await virsh(n, 'nodeinfo');
      const cpus = Number(/CPU\(s\):\s+(\d+)/.exec(info)?.[1]);
      const kib = Number(/Memory size:\s+(\d+) KiB/.exec(info)?.[1]);
      const running = (await virsh(n, 'list', '--name'))
        .split('\n')
        .filter((l) => l.trim() !== '').length;
      assert.deepEqual(
        {
          state: status?.['state'],
          pcpus: status?.['pcpus'],
          memory_bytes: status?.['memory_bytes'],
          guests: status?.['guests'],
        },
        { state: 'on', pcpus: cpus, memory_bytes: kib * 1024, guests: running },
      );
      assert.equal(typeof status?.['free_memory_bytes'], 'number');
    }
    for (const name of [...off.map((n) => n.name), 'ghost']) {
      const status = json.nodes.find((s) => s['name'] === name);
      assert.equal(status?.['state'], 'off');
      assert.match(
        String(status?.['error']),
        /ssh: connect to host 127\.0\.3\.\d+ port 22: Connection refused/,
      );
    }
    const human = await ok('status');
    for (const n of on)
      assert.match(human, new RegExp(`^${n.name} +on\\n +total: \\d+pcpus [\\d.]+[GM]\\n`, 'm'));
    assert.match(
      human,
      /^ghost {20}off\n {26}reason: ssh: connect to host 127\.0\.3\.99 port 22: Connection refused$/m,
    );
  });

  void test('boot on a named node: the guest runs there and its serial marker is seen', async () => {
    const out = await ok('boot', 'tiny', 'node1:g1');
    assert.match(out, /booted g1 on node1 \(running\)/);
    assert.equal((await virshGuests(node('node1'))).get('g1'), 'running');
    await waitForSerial(node('node1'), 'g1', new RegExp(`${GUEST_MARKER} booted`));
  });

  void test('boot by placement prints the node chosen', async () => {
    const out = await ok('boot', 'tiny', 'g2', '--memory', '96M');
    const chosen = /placed g2 on (node\d) \(most free memory: [\d.]+[GM]\)/.exec(out)?.[1];
    assert.ok(chosen, `no placement line in:\n${out}`);
    assert.equal((await virshGuests(node(chosen))).get('g2'), 'running');
    await waitForSerial(node(chosen), 'g2', new RegExp(`${GUEST_MARKER} booted`));
  });

  void test('list (human and JSON) matches virsh on every node; unreachable nodes are named', async () => {
    const run = await mclu('list', '--all', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /ghost is off or unreachable \(ssh: connect to host 127\.0\.3\.99 port 22: Connection refused\)/,
    );
    const listed = (
      JSON.parse(run.stdout) as {
        guests: {
          name: string;
          node: string;
          state: string;
          vcpus: number;
          memory_bytes: number;
        }[];
      }
    ).guests;
    const expected: string[] = [];
    for (const n of cluster.nodes.filter((x) => x.state === 'on')) {
      for (const [name, state] of await virshGuests(n)) expected.push(`${name} ${n.name} ${state}`);
    }
    assert.deepEqual(listed.map((g) => `${g.name} ${g.node} ${g.state}`).sort(), expected.sort());
    const g1 = listed.find((g) => g.name === 'g1');
    const dominfo = await virsh(node('node1'), 'dominfo', 'g1');
    assert.equal(g1?.vcpus, Number(/CPU\(s\):\s+(\d+)/.exec(dominfo)?.[1]));
    assert.equal(g1?.memory_bytes, Number(/Used memory:\s+(\d+) KiB/.exec(dominfo)?.[1]) * 1024);
    const human = await ok('list');
    assert.match(human, /^NAME +NODE +STATE +VCPUS +MEMORY\n/);
    assert.match(human, /^g1 +node1 +running +1 +128\.0M$/m);
  });

  void test('info shows the disk and the interface', async () => {
    const out = await ok('info', 'g1');
    assert.match(out, /^node: +node1$/m);
    assert.match(out, /^state: +running$/m);
    assert.match(
      out,
      /^disk: +vda \(virtio, qcow2 [\d.]+[KMG]\) \/var\/lib\/libvirt\/images\/g1\.qcow2$/m,
    );
    const mac = /<mac address='([0-9a-f:]+)'/.exec(
      await virsh(node('node1'), 'dumpxml', 'g1'),
    )?.[1];
    assert.ok(mac);
    assert.match(out, new RegExp(`^interface: +user ${mac} \\(virtio\\)`, 'm'));
    const json = JSON.parse(await ok('info', 'g1', '--json')) as {
      disks: { source: string }[];
      interfaces: { mac: string }[];
    };
    assert.equal(json.disks[0]?.source, '/var/lib/libvirt/images/g1.qcow2');
    assert.equal(json.interfaces[0]?.mac, mac);
  });

  void test('console streams the serial console; Ctrl-] leaves', async () => {
    const child = spawn(process.execPath, [MAIN, '-f', config, 'console', 'g1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = once(child, 'exit') as Promise<[number | null]>;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no heartbeat on the console within 30 s; got: ${output}`)),
        30_000,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (new RegExp(`${GUEST_MARKER} heartbeat \\d+`).test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }).finally(() => child.stdin.write(Buffer.from([0x1d])));
    const [code] = await exited;
    assert.equal(code, 0);
  });

  void test('clear errors with exit status 1: name clash, unknown template, unknown guest, bad config', async () => {
    const clash = await mclu('boot', 'tiny', 'node2:g1');
    assert.equal(clash.code, 1);
    assert.match(
      clash.stderr,
      /^mclu: error: a guest named g1 already exists on node1; choose another name or `mclu delete g1`$/m,
    );
    const template = await mclu('boot', 'nosuch', 'g9');
    assert.equal(template.code, 1);
    assert.match(
      template.stderr,
      /no template "nosuch": no executable nosuch\.template in .*; templates found: tiny/,
    );
    const guest = await mclu('info', 'nosuch');
    assert.equal(guest.code, 1);
    assert.match(
      guest.stderr,
      /no guest named "nosuch" on any reachable node \(not asked, unreachable: node4, ghost\)/,
    );
    const bad = join(work, 'bad.conf');
    await writeFile(bad, '[defaults]\nmemory = "a lot"\n[nodes.x]\nhost = "x"\n');
    const badRun = await new Promise<Run>((resolve) =>
      execFile(process.execPath, [MAIN, '-f', bad, 'status'], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      ),
    );
    assert.equal(badRun.code, 1);
    assert.equal(
      badRun.stderr,
      `mclu: error: ${bad}: line 2: defaults.memory: must be a whole number followed by K, M, G or T (powers of 1024), e.g. "256M", "2G" or "20G" (got "a lot")\n`,
    );
    for (const run of [clash, template, guest, badRun])
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace without --debug');
  });

  void test('migrate live: the guest keeps running, now on the target only', async () => {
    const before = heartbeats(await serialLog(node('node1'), 'g1'));
    assert.ok(before >= 0);
    const out = await ok('migrate', 'g1', 'node2');
    assert.match(out, /migrated g1 \(live\) from node1 to node2; now running/);
    assert.equal((await virshGuests(node('node1'))).has('g1'), false, 'g1 still defined on node1');
    assert.equal((await virshGuests(node('node2'))).get('g1'), 'running');
    // The guest's own heartbeat (uptime keeps counting) appears in node2's serial log.
    const log = await waitForSerial(
      node('node2'),
      'g1',
      new RegExp(`${GUEST_MARKER} heartbeat \\d+ uptime`),
    );
    assert.doesNotMatch(
      log,
      new RegExp(`${GUEST_MARKER} booted`),
      'the guest rebooted instead of migrating',
    );
    assert.equal(
      existsSync(join(node('node1').imagesDir, 'g1.qcow2')),
      false,
      'source disk left behind',
    );
    assert.equal(existsSync(join(node('node2').imagesDir, 'g1.qcow2')), true);
  });

  void test('off is refused while guests run', async () => {
    const run = await mclu('off', 'node2');
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      // g2 may be there too, wherever placement put it.
      /node node2 runs [12] guest\(s\) \((g1|g1, g2|g2, g1)\); migrate or stop them first, or use --force/,
    );
  });

  void test('shutdown, start, reboot, destroy', async () => {
    // The tiny guest powers off on the ACPI power button, as a real guest does.
    assert.match(await ok('shutdown', 'g1', '--wait', '60'), /g1: shut off/);
    assert.equal((await virshGuests(node('node2'))).get('g1'), 'shut off');

    assert.match(await ok('start', 'g1'), /g1: start done; now running/);
    assert.equal((await virshGuests(node('node2'))).get('g1'), 'running');
    assert.match(await ok('reboot', 'g1'), /g1: reboot done; now running/);
    assert.match(await ok('destroy', 'g1'), /g1: destroy done; now shut off/);
    assert.equal((await virshGuests(node('node2'))).get('g1'), 'shut off');

    assert.equal(existsSync(join(node('node2').imagesDir, 'g1.qcow2')), true);
  });

  void test('migrate a stopped guest offline: definition and disk move, holes and all, and it boots there', async (t) => {
    // 64 MiB of hole after the image's end (qemu does not mind), which the copy must keep a
    // hole: a copy that is not sparse writes it out as zeros.
    const source = join(node('node2').imagesDir, 'g1.qcow2');
    truncateSync(source, statSync(source).size + 64 * 2 ** 20);
    const original = { size: statSync(source).size, used: statSync(source).blocks * 512 };
    const sha256 = async (path: string): Promise<string> =>
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    const sourceSum = await sha256(source);

    const out = await ok('migrate', 'g1', 'node3');
    assert.match(out, /migrated g1 \(offline\) from node2 to node3; now shut off/);
    assert.equal((await virshGuests(node('node2'))).has('g1'), false, 'g1 still defined on node2');
    assert.equal((await virshGuests(node('node3'))).get('g1'), 'shut off');
    assert.equal(
      existsSync(join(node('node2').imagesDir, 'g1.qcow2')),
      false,
      'source disk left behind',
    );
    const copy = join(node('node3').imagesDir, 'g1.qcow2');
    assert.equal(statSync(copy).size, original.size);
    assert.equal(await sha256(copy), sourceSum);
    const used = statSync(copy).blocks * 512;
    assert.ok(
      used <= original.used + 2 ** 20,
      `the copy takes ${used} bytes, the source ${original.used}`,
    );
    t.diagnostic(
      `disk of ${original.size} bytes, ${original.used} used on node2, ${used} on node3`,
    );
    // The copied disk is a sound image: the guest boots from it on node3.
    await ok('start', 'g1');
    await waitForSerial(node('node3'), 'g1', new RegExp(`${GUEST_MARKER} booted`));
  });

  void test('delete removes the guest and its disk', async () => {
    const disk = join(node('node3').imagesDir, 'g1.qcow2');
    assert.equal(existsSync(disk), true);
    const noYes = await mclu('delete', 'g1');
    assert.equal(noYes.code, 2, 'delete without --yes and without a terminal must not delete');
    assert.match(noYes.stderr, /Not asked: standard input is not a terminal; add --yes to confirm/);
    assert.equal((await virshGuests(node('node3'))).get('g1'), 'running');
    const out = await ok('delete', 'g1', '--yes');
    assert.match(
      out,
      /deleted g1 from node3\n {2}removed disk \/var\/lib\/libvirt\/images\/g1\.qcow2/,
    );
    assert.equal((await virshGuests(node('node3'))).has('g1'), false);
    assert.equal(existsSync(disk), false, 'disk still there after delete');
  });

  void test('a node that hangs after connecting is reported off within the bound; the others answer', async () => {
    const hung = node('node3');
    const session = await McluCluster.open(loadConfig(config), libvirtConnector, [
      'node1',
      'node3',
    ]);
    process.kill(hung.libvirtdPid, 'SIGSTOP');
    try {
      const statuses = await clusterStatus(session);
      assert.deepEqual(
        statuses.map((s) => [s.name, s.state]),
        [
          ['node1', 'on'],
          ['node3', 'off'],
        ],
      );
      assert.match(statuses[1]?.error ?? '', /no answer from libvirtd .* \(keepalive timeout\)/);
    } finally {
      process.kill(hung.libvirtdPid, 'SIGCONT');
      await session.close();
    }
  });

  void test('on sends a correct magic packet to the configured address', async () => {
    const received = once(wolListener, 'message') as Promise<[Buffer]>;
    const out = await ok('on', 'node4');
    const [packet] = await received;
    assert.deepEqual(packet, magicPacket(node('node4').macAddress));
    assert.match(
      out,
      new RegExp(
        `node4: waking up ${node('node4').macAddress} \\(packet sent to 127\\.0\\.0\\.1:${wolPort}\\)`,
      ),
    );
  });

  void test('off powers a node off over ssh; status then reports it off', async () => {
    const target = cluster.nodes.find((n) => n.state === 'on' && n.name !== 'node2');
    assert.ok(target);
    // Make sure it runs nothing (g2 may have been placed there).
    for (const [name, state] of await virshGuests(target)) {
      if (state === 'running') await ok('destroy', name);
    }
    assert.match(await ok('off', target.name), new RegExp(`${target.name}: powering off`));
    const deadline = Date.now() + 30_000;
    let state = 'on';
    while (state === 'on' && Date.now() < deadline) {
      await sleep(1000);
      const json = JSON.parse(await ok('status', '--json', target.name)) as {
        nodes: { state: string }[];
      };
      state = json.nodes[0]?.state ?? '?';
    }
    assert.equal(state, 'off');
  });
});
