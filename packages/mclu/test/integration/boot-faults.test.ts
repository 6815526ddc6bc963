// `boot` under faults, on a real 3-node cluster (127.0.34.x): a pool that fills up during
// the upload, libvirtd killed or stopped, sshd killed and the node powered off during the
// upload, Ctrl-C (once and twice) and SIGTERM at each step, templates that hang, a stray
// volume, a missing network. After each, virsh on every node must show no stray guest or
// volume, mclu's TMPDIR must be empty, and the template's processes must be gone; when a
// node could not be cleaned, the message names what is left there and the one command that
// removes it, and that command is run and checked too.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import type { ClusterNode } from '@tsvirt/testcluster';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import {
  alive,
  McluCluster,
  removeCommands,
  sshMasters,
  stopSshMasters,
  type Run,
} from '../support/cluster.js';

let m: McluCluster;
/** format = "raw": an upload as long as the disk's size, to be caught in the middle. */
let raw: string;

/** The pids the fault template recorded (its build and its child). */
async function templatePids(file: string): Promise<number[]> {
  return (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

async function assertTemplateGone(file: string): Promise<void> {
  for (const pid of await templatePids(file))
    assert.equal(await alive(pid), false, `template process ${pid} is still running`);
  await rm(file, { force: true });
}

function assertNoStack(run: Run): void {
  assert.doesNotMatch(run.stderr, /\n\s+at |Unhandled|node:internal/, run.stderr);
}

/** Runs the `remove with:` command of the message, and checks the node is clean after. */
async function removeLeftovers(run: Run, name: string): Promise<void> {
  const commands = removeCommands(run.stderr);
  assert.equal(commands.length, 1, `one command to remove what is left:\n${run.stderr}`);
  for (const command of commands) await m.ok(...(command ?? []));
  await m.assertNothingOf(name);
}

void describe('boot under faults', { timeout: 20 * 60_000 }, () => {
  const pids = (): string => join(m.work, 'pids');

  before(async () => {
    m = await McluCluster.start('mclu-faults', '127.0.34.');
    raw = await m.writeConfig(join(m.work, 'raw.conf'), ['format = "raw"']);
    // node3's images pool: a small tmpfs, to fill up.
    await m.mountSmallPool(m.node('node3'), '48m');
  });

  after(async () => {
    await m?.stop();
  });

  void test('a network that does not exist is refused before the disk is built', async () => {
    const config = await m.writeConfig(join(m.work, 'net.conf'), ['network = "nosuch"']);
    const run = await m.run(['boot', 'fault', 'node1:n1'], { config, env: { FAULT_PIDS: pids() } });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'mclu: asking template fault\nmclu: checking node1\nmclu: error: cannot boot n1 on node1: it has no network named nosuch (its networks: none); set [defaults] network to one of them, or to "user" for user-mode networking\n',
    );
    assert.deepEqual(await templatePids(pids()), [], 'the template built a disk');
    await m.assertNothingOf('n1');
  });

  void test('a pool too small for the disk is refused before the build', async () => {
    const run = await m.run(['boot', 'fault', 'node3:p1', '--size', '64M'], {
      config: raw,
      env: { FAULT_PIDS: pids() },
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /mclu: error: node3 has [\d.]+M available in its images pool, and the disk needs 64\.0M; free some space there, or choose another node\n$/,
    );
    assert.deepEqual(await templatePids(pids()), []);
    await m.assertNothingOf('p1');
  });

  void test('the pool fills up during the upload (3 times): a clear error, everything undone', async () => {
    const node3 = m.node('node3');
    for (const round of [1, 2, 3]) {
      const name = `full${round}`;
      // Fills the tmpfs as soon as the new volume appears, while the upload runs.
      const filler = m.cluster.exec(node3, [
        'sh',
        '-c',
        `while [ ! -e /var/lib/libvirt/images/${name}.raw ]; do sleep 0.01; done; dd if=/dev/zero of=/var/lib/libvirt/images/filler bs=1M 2>/dev/null; true`,
      ]);
      const run = await m.run(['boot', 'fault', `node3:${name}`, '--size', '40M'], { config: raw });
      await filler;
      assert.equal(run.code, 1, run.stderr);
      assertNoStack(run);
      assert.match(
        run.stderr,
        new RegExp(
          `mclu: error: boot of ${name} failed while uploading the disk to node3: .*No space left on device.*\nundone: removed the disk volume /var/lib/libvirt/images/${name}\\.raw on node3; removed the definition of ${name} on node3\n$`,
        ),
      );
      await m.cluster.exec(node3, ['rm', '-f', '/var/lib/libvirt/images/filler']);
      await m.assertNothingOf(name);
    }
  });

  /** Boots a 256M raw disk on `node`, and does `fault` once the upload has written some
   *  of it; then `restore`s the node (always), and checks the message names what is left
   *  and that its command removes it. */
  async function faultDuringUpload(
    name: string,
    nodeName: string,
    fault: (node: ClusterNode) => void | Promise<void>,
    restore: (node: ClusterNode) => Promise<void>,
    reason: RegExp,
  ): Promise<void> {
    const node = m.node(nodeName);
    const mclu = m.spawn(['boot', 'fault', `${nodeName}:${name}`, '--size', '256M'], {
      config: raw,
    });
    let run: Run;
    try {
      await mclu.waitFor(/uploading the disk/);
      const disk = join(node.imagesDir, `${name}.raw`);
      while (((await stat(disk).catch(() => null))?.size ?? 0) === 0) await sleep(10);
      await fault(node);
      run = await mclu.result();
    } finally {
      await restore(node);
    }
    assert.equal(run.code, 1, run.stderr);
    assertNoStack(run);
    assert.match(
      run.stderr,
      new RegExp(`boot of ${name} failed while uploading the disk to ${nodeName}: `),
    );
    assert.match(run.stderr, reason);
    assert.match(
      run.stderr,
      new RegExp(
        `\nleft on ${nodeName} \\(${nodeName} does not answer \\(.*\\)\\): the disk volume /var/lib/libvirt/images/${name}\\.raw; the definition of ${name}\n {2}remove with: mclu delete ${nodeName}:${name}\n$`,
      ),
    );
    await removeLeftovers(run, name);
  }

  const powerCycle = async (node: ClusterNode): Promise<void> => {
    await m.cluster.powerOff(node);
    await m.cluster.powerOn(node);
  };

  void test('libvirtd killed during the upload: what is left is named, with the one command that removes it', async () => {
    await faultDuringUpload(
      'k1',
      'node1',
      (node) => void process.kill(node.libvirtdPid, 'SIGKILL'),
      powerCycle,
      /connection to root@127\.0\.34\.11 lost/,
    );
  });

  void test('libvirtd stopped (SIGSTOP) during the upload: the keepalive ends the wait; what is left is named', async () => {
    const started = Date.now();
    await faultDuringUpload(
      's1',
      'node1',
      (node) => void process.kill(node.libvirtdPid, 'SIGSTOP'),
      (node) => {
        process.kill(node.libvirtdPid, 'SIGCONT');
        return Promise.resolve();
      },
      /no answer from libvirtd .* \(keepalive timeout\)/,
    );
    assert.ok(Date.now() - started < 60_000, 'mclu waited too long on a stopped libvirtd');
  });

  void test("the node's sshd killed during the upload (daemon and sessions)", async () => {
    await faultDuringUpload(
      'd1',
      'node2',
      (node) => {
        for (const p of m.cluster.processes(node).filter((p) => p.comm === 'sshd'))
          process.kill(p.pid, 'SIGKILL');
      },
      powerCycle,
      /connection to root@127\.0\.34\.12 lost/,
    );
  });

  void test('the node powers off during the upload', async () => {
    await faultDuringUpload(
      'o1',
      'node2',
      (node) => m.cluster.powerOff(node),
      (node) => m.cluster.powerOn(node),
      /connection to root@127\.0\.34\.12 lost/,
    );
  });

  const steps: [string, RegExp, NodeJS.ProcessEnv][] = [
    ['the template questions', /asking template fault/, { FAULT_PROBE_SLEEP: '5' }],
    ['the node checks', /checking node1/, {}],
    ['the claim', /claiming the name/, {}],
    ['the build', /building the disk/, { FAULT_BUILD_SLEEP: '60' }],
    ['the upload', /uploading the disk/, {}],
    ['the start', /starting i\d on node1/, {}],
  ];
  for (const [i, [step, line, env]] of steps.entries()) {
    void test(`Ctrl-C during ${step}: exit status 130, everything undone`, async () => {
      const name = `i${i + 1}`;
      const mclu = m.spawn(['boot', 'fault', `node1:${name}`, '--size', '256M'], {
        config: raw,
        env: { ...env, FAULT_PIDS: pids() },
      });
      await mclu.waitFor(line);
      mclu.signal('SIGINT');
      const run = await mclu.result();
      assertNoStack(run);
      assert.equal(run.code, 130, run.stderr);
      assert.match(
        run.stderr,
        /mclu: interrupted: stopping, then undoing what was done \(Ctrl-C again stops the undo\)/,
      );
      assert.match(
        run.stderr,
        new RegExp(
          `mclu: error: (boot of ${name} interrupted while .*|interrupted before anything was made; nothing was left)\n`,
        ),
      );
      assert.doesNotMatch(run.stderr, /left on/);
      await assertTemplateGone(pids());
      await m.assertNothingOf(name);
    });
  }

  void test('a second Ctrl-C stops the undo and lists what is left, with the command that removes it', async () => {
    const node1 = m.node('node1');
    const mclu = m.spawn(['boot', 'fault', 'node1:u1'], {
      env: { FAULT_BUILD_SLEEP: '60', FAULT_PIDS: pids() },
    });
    await mclu.waitFor(/building the disk/);
    // A node that is slow to answer makes the undo slow: the user presses Ctrl-C again.
    process.kill(node1.libvirtdPid, 'SIGSTOP');
    try {
      mclu.signal('SIGINT');
      await mclu.waitFor(/interrupted: stopping/);
      mclu.signal('SIGINT');
      const run = await mclu.result();
      assert.equal(run.code, 130, run.stderr);
      assertNoStack(run);
      assert.match(
        run.stderr,
        /mclu: undo stopped; what is left:\n {2}left on node1 \(its removal was under way when the undo was stopped\): the definition of u1\n {4}remove with: mclu delete node1:u1\n$/,
      );
      await assertTemplateGone(pids());
      assert.deepEqual(await readdir(m.tmp), [], 'mclu left files in its TMPDIR');
      process.kill(node1.libvirtdPid, 'SIGCONT');
      await removeLeftovers(run, 'u1');
    } finally {
      process.kill(node1.libvirtdPid, 'SIGCONT');
    }
  });

  void test('SIGTERM is handled like Ctrl-C (exit status 143)', async () => {
    const mclu = m.spawn(['boot', 'fault', 'node2:t1'], {
      env: { FAULT_BUILD_SLEEP: '60', FAULT_PIDS: pids() },
    });
    await mclu.waitFor(/building the disk/);
    mclu.signal('SIGTERM');
    const run = await mclu.result();
    assert.equal(run.code, 143, run.stderr);
    assert.match(run.stderr, /mclu: got SIGTERM: stopping/);
    await assertTemplateGone(pids());
    await m.assertNothingOf('t1');
  });

  void test('a template build that hangs is stopped at template_timeout.build, with its process group', async () => {
    const config = await m.writeConfig(join(m.work, 'slow.conf'), [
      'template_timeout = { build = 3 }',
    ]);
    const run = await m.run(['boot', 'fault', 'node1:h1'], {
      config,
      env: { FAULT_BUILD_SLEEP: '600', FAULT_PIDS: pids() },
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /mclu: error: boot of h1 failed while building the disk with template fault: `.*fault\.template build` did not finish within 3 s \(template_timeout\.build in mclu\.conf\) and was stopped; raise \[defaults\] template_timeout = \{ build = SECONDS \} if it needs longer\nundone: removed the definition of h1 on node1\n$/,
    );
    assert.equal((await templatePids(pids())).length, 2, 'the template and its child');
    await assertTemplateGone(pids());
    await m.assertNothingOf('h1');
  });

  void test('a template probe that hangs is stopped at template_timeout.questions, and says so', async () => {
    const config = await m.writeConfig(join(m.work, 'probe.conf'), [
      'template_timeout = { questions = 2 }',
    ]);
    const run = await m.run(['boot', 'fault', 'node1:h2'], {
      config,
      env: { FAULT_PROBE_SLEEP: '600' },
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /mclu: error: `.*fault\.template probe` did not finish within 2 s \(template_timeout\.questions in mclu\.conf\) and was stopped/,
    );
    await m.assertNothingOf('h2');
  });

  void test('a volume left by an interrupted boot: boot refuses the name early; delete removes it after asking', async () => {
    const node1 = m.node('node1');
    await m.virsh(node1, 'vol-create-as', 'default', 'lone.qcow2', '1M', '--format', 'qcow2');
    const boot = await m.run(['boot', 'fault', 'node1:lone']);
    assert.equal(boot.code, 1);
    assert.match(
      boot.stderr,
      /mclu: error: node1 already has a disk volume lone\.qcow2 in \/var\/lib\/libvirt\/images \(left by an interrupted boot\?\); `mclu delete node1:lone` removes it, or choose another name\n$/,
    );
    const unasked = await m.run(['delete', 'lone']);
    assert.equal(unasked.code, 2);
    assert.match(
      unasked.stderr,
      /no guest named lone, but a volume of its name that no guest uses \(left by an interrupted boot or migration\): \/var\/lib\/libvirt\/images\/lone\.qcow2 on node1\. Remove it\? Not asked: standard input is not a terminal; add --yes to confirm/,
    );
    assert.deepEqual(
      (await m.holds(node1)).volumes.filter((v) => v.startsWith('lone.')),
      ['lone.qcow2'],
    );
    assert.equal(
      await m.ok('delete', 'lone', '--yes'),
      'removed volume /var/lib/libvirt/images/lone.qcow2 on node1\n',
    );
    await m.assertNothingOf('lone');
  });

  void test('info of a guest whose disk has a <serial>: its console is the pty', async () => {
    const node2 = m.node('node2');
    await m.ok('build', 'fault', 'node2:ser');
    const xml = (await m.virsh(node2, 'dumpxml', '--inactive', 'ser')).replace(
      '</disk>',
      '  <serial>WD-0001</serial>\n    </disk>',
    );
    const file = join(m.node('node2').imagesDir, '..', 'ser.xml');
    await m.cluster.exec(node2, [
      'sh',
      '-c',
      `cat > /var/lib/libvirt/ser.xml <<'EOF'\n${xml}\nEOF`,
    ]);
    await m.virsh(node2, 'define', '/var/lib/libvirt/ser.xml');
    await rm(file, { force: true });
    const info = JSON.parse(await m.ok('info', 'ser', '--json')) as { consoles: string[] };
    assert.deepEqual(info.consoles, ['pty (log /var/log/libvirt/qemu/ser-serial.log)']);
    await m.ok('delete', 'ser', '--yes');
    await m.assertNothingOf('ser');
  });

  void test('ssh connection sharing: masters live in the private control directory; ssh -O exit ends them', async () => {
    const { mode } = await import('node:fs/promises').then((fs) => fs.stat(m.controlDir));
    assert.equal(mode & 0o777, 0o700);
    assert.ok((await sshMasters(m.controlDir)).length > 0, 'no ssh master: sharing is off?');
    await stopSshMasters(m.controlDir);
    assert.deepEqual(await sshMasters(m.controlDir), []);
  });
});
