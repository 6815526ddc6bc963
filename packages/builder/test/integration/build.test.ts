// A guest disk built from the real debian-12 base image (made on first use from Debian's
// archive and cached in the test images' cache, whose Debian tree it shares), then read
// back in a separate appliance: the host name, the key, the operations in their order, the
// size, the identity left for the first boot. And a build aborted while it copies leaves no
// output and no cache temporary. Booting such a guest to a login prompt and logging in with
// the key is mclu's test of its debian-12 template.
import { launch, type Guestfs } from '@tsvirt/guestfs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, type BuildResult } from '../../src/build.js';
import { FIRSTBOOT_DIR } from '../../src/debian.js';
import { parseOperations } from '../../src/operations.js';

const CACHE = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';
const work = mkdtempSync(join(tmpdir(), 'builder-it-'));
const output = join(work, 'web.qcow2');
let key = '';
let built: BuildResult;
let g: Guestfs;

const steps: string[] = [];

void describe('a debian-12 guest disk', { timeout: 30 * 60_000 }, () => {
  before(async () => {
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'it@builder',
      '-f',
      join(work, 'k'),
    ]);
    key = readFileSync(join(work, 'k.pub'), 'utf8').trim();
    built = await buildImage(
      {
        image: 'debian-12',
        output,
        sizeBytes: 3n << 30n,
        cacheDir: CACHE,
        operations: parseOperations([
          ...['--hostname', 'web.example.com', '--ssh-inject', `root:string:${key}`],
          ...['--timezone', 'Europe/Paris', '--run-command', 'echo one > /root/order'],
          ...['--run-command', 'echo two >> /root/order', '--firstboot-command', 'touch /booted'],
        ]),
      },
      { onStep: (text) => steps.push(text) },
    );
    g = await launch({ drives: [{ source: output, format: 'qcow2', readonly: true }] });
    await g.mount('/dev/sda1', '/');
  });

  after(async () => {
    await g?.close();
    rmSync(work, { recursive: true, force: true });
  });

  void test('the disk: qcow2 at the size asked for, its root filesystem grown to it', async () => {
    assert.equal(built.sizeBytes, 3n << 30n);
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', output], { encoding: 'utf8' }),
    ) as {
      format: string;
      'virtual-size': number;
    };
    assert.equal(info.format, 'qcow2');
    assert.equal(info['virtual-size'], 3 * 2 ** 30);
    const fs = await g.statvfs('/');
    assert.ok(
      fs.blocks * fs.bsize > 2.5 * 2 ** 30,
      `root filesystem ${fs.blocks * fs.bsize} bytes`,
    );
    assert.ok(steps.includes('growing the root filesystem to the disk'), steps.join('\n'));
  });

  void test('host name, key, time zone and commands, in the order given', async () => {
    assert.equal(await g.cat('/etc/hostname'), 'web\n');
    assert.match(await g.cat('/etc/hosts'), /^127\.0\.1\.1\tweb\.example\.com web$/m);
    assert.equal(await g.cat('/root/.ssh/authorized_keys'), `${key}\n`);
    assert.equal((await g.statns('/root/.ssh')).st_mode & 0o777n, 0o700n);
    assert.equal((await g.statns('/root/.ssh/authorized_keys')).st_mode & 0o777n, 0o600n);
    assert.equal(await g.readlink('/etc/localtime'), '/usr/share/zoneinfo/Europe/Paris');
    assert.equal(await g.cat('/root/order'), 'one\ntwo\n');
    assert.deepEqual(await g.ls(FIRSTBOOT_DIR), ['0001-command']);
    assert.equal(await g.cat(`${FIRSTBOOT_DIR}/0001-command`), '#!/bin/sh\ntouch /booted\n');
  });

  void test('its own identity at first boot: no machine-id, no host keys, root locked', async () => {
    assert.equal(await g.cat('/etc/machine-id'), '');
    assert.deepEqual(
      (await g.ls('/etc/ssh')).filter((n) => n.startsWith('ssh_host_')),
      [],
    );
    const root = (await g.readLines('/etc/shadow')).find((l) => l.startsWith('root:')) ?? '';
    assert.match(root, /^root:![^:]*:/, 'root has no password to log in with');
    assert.equal(await g.exists('/etc/resolv.conf'), false, "the build host's resolv.conf");
    assert.equal(await g.exists('/usr/sbin/sshd'), true);
  });

  void test('a build aborted while it copies the base leaves no output or temporary', async () => {
    // (Aborted later, in the appliance: mclu's test interrupts its debian-12 template there.)
    const cut = join(work, 'cut.qcow2');
    const controller = new AbortController();
    const building = buildImage(
      {
        image: 'debian-12',
        output: cut,
        cacheDir: CACHE,
        operations: parseOperations(['--hostname', 'cut']),
      },
      {
        onStep: (text) => {
          if (text.startsWith('copying')) setTimeout(() => controller.abort(), 200);
        },
      },
      controller.signal,
    );
    await assert.rejects(building, (error: Error) =>
      /abort/i.test(`${error.name} ${error.message}`),
    );
    assert.equal(existsSync(cut), false, 'the output is left');
    assert.deepEqual(readdirSync(work).sort(), ['k', 'k.pub', 'web.qcow2']);
    assert.deepEqual(
      readdirSync(CACHE).filter((n) => /^debian-12-base-.*\.(tmp-|lock)/.test(n)),
      [],
    );
  });
});
