// The library on the real appliance: one launch (TCG here, 30-60 s) for the whole file, with
// both test guests attached read-only (writes go to throw-away overlays) and a scratch disk,
// then many calls. Ends by killing qemu under a call, and checks what is left.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { DebianImage } from '@tsvirt/testimages';
import {
  type Guestfs,
  GuestfsConnectionError,
  GuestfsError,
  inspect,
  launch,
} from '../../src/index.js';
import { lvmImage, mbrImage } from '../support/images.js';

void describe('the appliance, two Debian guests and a scratch disk', () => {
  let g: Guestfs;
  let mbr: DebianImage;
  let lvm: DebianImage;
  const work = mkdtempSync(join(tmpdir(), 'tsguestfs-appliance-test-'));
  const scratch = join(work, 'scratch.img');
  const consoleLog = join(work, 'console.log');

  before(async () => {
    mbr = await mbrImage();
    lvm = await lvmImage();
    writeFileSync(scratch, '');
    truncateSync(scratch, 256 * 1024 * 1024);
    g = await launch({
      drives: [
        { source: mbr.path, readonly: true },
        { source: lvm.path, readonly: true },
        { source: scratch, format: 'raw', discard: true, cacheMode: 'unsafe' },
      ],
      cpus: 2,
      consoleLog,
    });
  });
  after(async () => {
    await g.close();
    rmSync(work, { recursive: true, force: true });
  });

  void it('sees the disks as sda, sdb, sdc and the guests as two operating systems', async () => {
    assert.deepEqual(await g.listDevices(), ['/dev/sda', '/dev/sdb', '/dev/sdc']);
    const oses = await inspect(g, { applications: true });
    assert.deepEqual(
      oses.map((o) => o.root),
      ['/dev/debian-vg/root', '/dev/sda1'],
    );
    for (const os of oses) {
      assert.equal(os.type, 'linux');
      assert.equal(os.distro, 'debian');
      assert.equal(os.majorVersion, 12);
      assert.equal(os.osinfo, 'debian12');
      assert.equal(os.packageFormat, 'deb');
      assert.equal(os.hostname, 'debian');
      assert.ok(os.applications.some((a) => a.name === 'linux-image-amd64'));
      assert.ok(os.icon === null || os.icon.subarray(1, 4).toString() === 'PNG');
    }
    const lvmOs = oses[0]!;
    assert.deepEqual(
      lvmOs.mountpoints.map((m) => m.mountpoint),
      ['/', '/boot'],
    );
    assert.equal(lvmOs.mountpoints[1]!.device, '/dev/sdb2');
    assert.deepEqual(await g.lvs(), ['/dev/debian-vg/root']);
    assert.equal(await g.vfsUuid('/dev/sda1'), mbr.rootUuid);
    assert.deepEqual(await g.mounts(), [], 'inspection leaves nothing mounted');
  });

  void it('reads files, lists directories, follows optional arguments', async () => {
    await g.mountRo('/dev/sda1', '/');
    try {
      assert.equal((await g.cat('/etc/hostname')).trim(), 'debian');
      assert.ok((await g.ls('/etc')).includes('fstab'));
      assert.ok((await g.find('/etc/default')).includes('/grub'));
      assert.equal(await g.isFile('/etc/fstab'), true);
      assert.equal(await g.isDir('/etc/fstab'), false);
      assert.equal(await g.isFile('/vmlinuz'), false);
      assert.equal(await g.isFile('/vmlinuz', { followsymlinks: true }), true);
      assert.deepEqual(await g.readLines('/etc/debian_version'), [
        (await g.cat('/etc/debian_version')).trim(),
      ]);
      const st = await g.statns('/etc/passwd');
      assert.equal(st.st_uid, 0n);
      assert.equal(st.st_size, BigInt((await g.readFile('/etc/passwd')).byteLength));
      assert.match(await g.fileArchitecture('/bin/ls'), /x86_64/);
      await assert.rejects(
        g.cat('/etc/nonexistent'),
        (e: unknown) => e instanceof GuestfsError && e.errno === 'ENOENT',
      );
      // Augeas, as virt-v2v uses it.
      await g.augInit('/', 0);
      assert.ok((await g.augMatch('/files/etc/fstab/*/file')).length >= 1);
      await g.augClose();
    } finally {
      await g.umountAll();
    }
  });

  void it('writes through the read-only overlay without touching the image', async () => {
    const stamp = (): string => {
      const s = statSync(mbr.path);
      return `${s.mtimeMs} ${s.ctimeMs} ${s.size}`;
    };
    const before = stamp();
    await g.mount('/dev/sda1', '/');
    await g.writeFile('/etc/tsguestfs-test', 'overlay');
    assert.equal(await g.cat('/etc/tsguestfs-test'), 'overlay');
    await g.umountAll();
    assert.equal(stamp(), before, 'the image file was not written');
  });

  void it('makes a filesystem on the scratch disk and moves files both ways', async () => {
    await g.partDisk('/dev/sdc', 'mbr');
    await g.mkfs('ext4', '/dev/sdc1', { label: 'scratch' });
    await g.mount('/dev/sdc1', '/');
    const data = randomBytes(5 * 1024 * 1024 + 3);
    writeFileSync(join(work, 'data'), data);
    await g.upload(join(work, 'data'), '/data');
    assert.equal(await g.filesize('/data'), BigInt(data.byteLength));
    await g.download('/data', join(work, 'back'));
    assert.deepEqual(readFileSync(join(work, 'back')), data);
    await g.writeFile('/big', Buffer.alloc(3 * 1024 * 1024, 7)); // over the inline limit: upload
    assert.equal(await g.filesize('/big'), 3n * 1024n * 1024n);
    await g.mkdirP('/a/b/c');
    await g.upload(Readable.from([Buffer.from('x')]), '/a/b/c/x');
    await g.tarOut('/a', join(work, 'a.tar'));
    assert.match(
      execFileSync('tar', ['-tf', join(work, 'a.tar')], { encoding: 'utf8' }),
      /\.\/b\/c\/x/,
    );
    assert.equal(await g.vfsLabel('/dev/sdc1'), 'scratch');
    await g.rmRf('/a');
    await g.fstrim('/');
    assert.deepEqual(await g.ls('/'), ['big', 'data', 'lost+found']);
    await g.umountAll();
  });

  void it('logs the serial console', () => {
    assert.match(readFileSync(consoleLog, 'utf8'), /Linux version/);
  });
});

void describe('the appliance dying under a call', () => {
  void it('fails the call with CLOSED, and leaves no qemu and no temporary files', async () => {
    const image = await mbrImage();
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('tsguestfs-')));
    const g = await launch({ drives: [{ source: image.path, readonly: true }] });
    // Only this launch's qemu: other tests on the machine may use the same cached image.
    const pid = g.appliancePid;
    assert.ok(pid !== null);
    const call = g.sleep(30);
    setTimeout(() => process.kill(pid, 'SIGKILL'), 500);
    await assert.rejects(
      call,
      (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'CLOSED',
    );
    assert.equal(g.isOpen, false);
    await g.close(); // no throw on a dead appliance
    const left = readdirSync(tmpdir()).filter((n) => n.startsWith('tsguestfs-') && !before.has(n));
    assert.deepEqual(
      left.filter((n) => existsSync(join(tmpdir(), n, 'guestfsd.sock'))),
      [],
    );
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
