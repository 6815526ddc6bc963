// The debian-12 template mclu ships, on a real 2-node cluster (127.0.48.x) under TCG:
// `mclu boot debian-12 web` gives a guest that reaches a login prompt as `web` on its serial
// console, lets the user in over ssh with their key (through a port forward on loopback, as
// the nodes' user-mode network allows), and has the disk size asked for. And its faults: a
// size the image cannot shrink to, a key file that is missing, a build interrupted while the
// appliance customises the disk; each leaves nothing on the nodes, in mclu's TMPDIR, in the
// base-image cache or among the processes.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { alive, McluCluster, type Run } from '../support/cluster.js';

/** The base-image cache: the test images' (their Debian tree is the same, so a machine
 *  that made them builds only the debian-12 base, and that once). */
const CACHE = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';
const env = { TSBUILDER_CACHE: CACHE };
/** Where the guest's sshd is forwarded to, on loopback. */
const FORWARD = { address: '127.0.48.200', port: 2222 };

let m: McluCluster;
let key: string;

function assertNoStack(run: Run): void {
  assert.doesNotMatch(run.stderr, /\n\s+at |Unhandled|node:internal/, run.stderr);
}

async function serialLog(guest: string): Promise<string> {
  const log = join(m.node('node1').logDir, 'qemu', `${guest}-serial.log`);
  return readFile(log, 'utf8').catch(() => '');
}

/** Processes whose command line mentions `text`. */
async function processesWith(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text) && (await alive(Number(entry)))) pids.push(Number(entry));
  }
  return pids;
}

/** What the builder left in the cache besides finished entries and their checksums. */
async function cacheLeftovers(): Promise<string[]> {
  return (await readdir(CACHE)).filter((n) => /^debian-12-base-.*\.(tmp-|lock)/.test(n));
}

function ssh(...command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      'ssh',
      [
        ...['-i', key, '-p', String(FORWARD.port), '-o', 'BatchMode=yes'],
        ...['-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no'],
        ...[
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'ConnectTimeout=10',
          '-o',
          'LogLevel=ERROR',
        ],
        `root@${FORWARD.address}`,
        ...command,
      ],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
    ),
  );
}

void describe('the debian-12 template', { timeout: 40 * 60_000 }, () => {
  before(async () => {
    m = await McluCluster.start('mclu-debian', '127.0.48.', [], 2);
    key = join(m.work, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tester', '-f', key]);
    await m.writeConfig(m.config, [
      `ssh_key = ${JSON.stringify(`${key}.pub`)}`,
      'memory = "512M"',
      // This test runs for minutes beside other heavy ones: no node reported off for a
      // slow ssh connection.
      'connect_timeout = 30',
    ]);
  });

  after(async () => {
    await m?.stop();
  });

  void test('a size smaller than the image is refused before anything is built', async () => {
    const run = await m.run(['boot', 'debian-12', 'node1:small', '--size', '1G'], { env });
    assertNoStack(run);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /mclu: error: template debian-12 refuses this build: size 1073741824 bytes is smaller than the debian-12 image \(2147483648 bytes, 2G\); give at least 2G\n$/,
    );
    await m.assertNothingOf('small');
  });

  void test('a key file that is missing is refused, naming the file and the fix', async () => {
    const config = await m.writeConfig(join(m.work, 'nokey.conf'), [
      `ssh_key = ${JSON.stringify(join(m.work, 'nosuch.pub'))}`,
    ]);
    const run = await m.run(['boot', 'debian-12', 'node1:nokey'], { config, env });
    assertNoStack(run);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `defaults\\.ssh_key: cannot read ${join(m.work, 'nosuch.pub')}: ENOENT.*; fix the path, or remove the key to use the newest ~/\\.ssh/id\\*\\.pub\\n$`,
      ),
    );
    await m.assertNothingOf('nokey');
  });

  void test('boot debian-12 web: login prompt as web, the key lets root in, the size asked for', async () => {
    // Not m.run, whose time limit a first build of the base image (minutes) could pass.
    const run = await m.spawn(['boot', 'debian-12', 'node1:web', '--size', '3G'], { env }).result();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /booted web on node1 \(running\)/);
    assert.match(
      await m.ok('info', 'web'),
      /^disk: +vda \(virtio, qcow2 3\.0G\) \/var\/lib\/libvirt\/images\/web\.qcow2$/m,
    );

    const deadline = Date.now() + 10 * 60_000;
    while (!/^web login:/m.test(await serialLog('web'))) {
      if (Date.now() > deadline)
        assert.fail(
          `no login prompt from web within 10 min:\n${(await serialLog('web')).slice(-3000)}`,
        );
      await sleep(2000);
    }

    // The nodes' network is qemu's user mode: forward a loopback port to the guest's sshd.
    const node1 = m.node('node1');
    const netdev = /^[\s\\]*(\S+?): index=\d+,type=user/m.exec(
      await m.virsh(node1, 'qemu-monitor-command', 'web', '--hmp', 'info network'),
    )?.[1];
    assert.ok(netdev, 'no user-mode netdev in the guest');
    await m.virsh(
      node1,
      'qemu-monitor-command',
      'web',
      '--hmp',
      `hostfwd_add ${netdev} tcp:${FORWARD.address}:${FORWARD.port}-:22`,
    );
    let login = await ssh('hostname; wc -c < /etc/machine-id; ls /etc/ssh; df -B1 --output=size /');
    while (login.code !== 0 && Date.now() < deadline) {
      await sleep(3000);
      login = await ssh('hostname; wc -c < /etc/machine-id; ls /etc/ssh; df -B1 --output=size /');
    }
    assert.equal(login.code, 0, `ssh as root with the user's key: ${login.stderr}`);
    const [hostname, machineIdBytes, ...rest] = login.stdout.trim().split('\n');
    assert.equal(hostname, 'web');
    assert.equal(machineIdBytes, '33', 'a machine-id made at first boot');
    assert.ok(rest.includes('ssh_host_ed25519_key'), 'host keys made at first boot');
    // The root filesystem grew with the disk: more than the image's 2G.
    assert.ok(Number(rest.at(-1)) > 2.5 * 2 ** 30, `root filesystem size ${rest.at(-1)}`);
  });

  void test('a build interrupted in the appliance leaves nothing anywhere', async () => {
    const mclu = m.spawn(['boot', 'debian-12', 'node2:cut', '--size', '3G'], { env });
    // The appliance customising the copy: a qemu whose disk is in mclu's TMPDIR.
    const deadline = Date.now() + 5 * 60_000;
    let appliance: number[] = [];
    while (appliance.length === 0) {
      assert.ok(Date.now() < deadline, `no appliance started:\n${mclu.stderr}`);
      await sleep(500);
      // (A process may be gone between the two reads: no comm, not the appliance.)
      appliance = [];
      for (const pid of await processesWith(m.tmp)) {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
        if (comm.startsWith('qemu')) appliance.push(pid);
      }
    }
    mclu.signal('SIGINT');
    const run = await mclu.result();
    assertNoStack(run);
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /mclu: error: boot of cut interrupted while building the disk/);
    await m.assertNothingOf('cut');
    assert.deepEqual(await processesWith(m.tmp), [], 'processes of the build are left');
    assert.deepEqual(await cacheLeftovers(), [], 'the build left files in the cache');
  });
});
