// What a user sees when a launch cannot work: a missing image, a format to name, an
// appliance that does not boot, a daemon that does not come up in time, a disk with no OS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GuestfsLaunchError, findAppliance, launch } from '../../src/index.js';
import { tsguestfs } from '../support/images.js';

const work = mkdtempSync(join(tmpdir(), 'tsguestfs-failures-'));
after(() => rmSync(work, { recursive: true, force: true }));

function qemusFor(path: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', path], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
}

void describe('launch failures', () => {
  void it('names a missing image before starting anything', async () => {
    await assert.rejects(
      launch({ drives: [{ source: join(work, 'missing.img') }] }),
      (e: unknown) => {
        assert.ok(e instanceof GuestfsLaunchError);
        assert.equal(e.code, 'DRIVE');
        assert.match(e.message, /missing\.img: no such file/);
        return true;
      },
    );
  });

  void it('asks for the format of a qcow2 image instead of guessing it', async () => {
    const qcow2 = join(work, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '16M']);
    await assert.rejects(
      launch({ drives: [{ source: qcow2 }] }),
      /disk\.qcow2 is a qcow2 image: give its format/,
    );
  });

  void it('refuses NBD URIs it cannot use', async () => {
    await assert.rejects(
      launch({ drives: [{ source: 'nbd+unix:///export' }] }),
      /needs \?socket=PATH/,
    );
  });

  void it('reports an appliance that does not boot, with what qemu said', async () => {
    const broken = join(work, 'broken-appliance');
    mkdirSync(broken);
    const real = await findAppliance();
    writeFileSync(join(broken, 'kernel'), 'not a kernel');
    writeFileSync(join(broken, 'initrd'), '');
    execFileSync('cp', ['--sparse=always', real.root, join(broken, 'root')]);
    const disk = join(work, 'blank.img');
    writeFileSync(disk, Buffer.alloc(1024 * 1024));
    await assert.rejects(
      launch({ drives: [{ source: disk }], applianceDir: broken, accel: 'tcg' }),
      (e: unknown) => {
        assert.ok(e instanceof GuestfsLaunchError, String(e));
        assert.equal(e.code, 'QEMU');
        assert.match(e.message, /failed to boot: qemu exited/);
        assert.ok(
          e.consoleTail.some((l) => /kernel/i.test(l)),
          e.consoleTail.join('\n'),
        );
        return true;
      },
    );
    assert.deepEqual(qemusFor(broken), []);
  });

  void it('gives up after the launch timeout, with the console so far, and stops qemu', async () => {
    const disk = join(work, 'timeout.img');
    writeFileSync(disk, Buffer.alloc(1024 * 1024));
    await assert.rejects(
      launch({ drives: [{ source: disk }], launchTimeoutMs: 4000 }),
      (e: unknown) => {
        assert.ok(e instanceof GuestfsLaunchError);
        assert.equal(e.code, 'TIMEOUT');
        assert.match(e.message, /did not start its daemon within 4 s/);
        assert.ok(e.consoleTail.length > 0, 'the console so far is in the error');
        return true;
      },
    );
    assert.deepEqual(qemusFor(disk), []);
  });
});

void describe('tsguestfs errors', () => {
  void it('says what is wrong, without a stack trace, with exit status 1 or 2', async () => {
    const missing = await tsguestfs(['cat', '-a', join(work, 'nope.img'), '/etc/fstab']);
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /^tsguestfs: the appliance could not be started: .*nope\.img: no such file\n$/,
    );
    const noImage = await tsguestfs(['ls', '/']);
    assert.equal(noImage.status, 2);
    assert.match(noImage.stderr, /no disk image: give one with -a IMAGE/);
    const roCopyIn = await tsguestfs(['copy-in', '--ro', '-a', join(work, 'x.img'), work, '/']);
    assert.equal(roCopyIn.status, 2);
    assert.match(roCopyIn.stderr, /copy-in writes to the image: --ro cannot be used/);
    const badFormat = await tsguestfs(['df', '--format', 'vmdk', '-a', 'x']);
    assert.equal(badFormat.status, 2);
  });

  void it('says when a disk has no operating system', async () => {
    const blank = join(work, 'no-os.img');
    writeFileSync(blank, Buffer.alloc(16 * 1024 * 1024));
    const result = await tsguestfs(['ls', '-a', blank, '/']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^tsguestfs: no operating system was found on this disk image/);
  });
});
