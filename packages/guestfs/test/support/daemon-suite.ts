// The client test suite for the procedures the TypeScript daemon implements, run the same
// way against either daemon in the appliance (one launch per daemon): the Debian test guest
// read-only, a scratch filesystem, and a hostile filesystem whose symlinks and `..` try to
// reach the appliance's own files, with names of every byte. The expectations are fixed, so
// both daemons passing them means both give the same results on the same images.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { DebianImage } from '@tsvirt/testimages';
import { type DaemonChoice, type Guestfs, GuestfsError, launch } from '../../src/index.js';
import { mbrImage } from './images.js';

/** Every byte a file name may hold: 1-255 but '/'. */
export const NAME_BYTES = [...Array(255).keys()].map((i) => i + 1).filter((b) => b !== 0x2f);

export const rejectsWith = (errno: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof GuestfsError, String(e));
  assert.equal(e.errno, errno, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

/** An ext4 image made from a directory tree on the host (mke2fs -d: no mounting). */
export function ext4Image(path: string, sizeMiB: number, label: string, tree?: string): void {
  writeFileSync(path, '');
  truncateSync(path, sizeMiB * 1024 * 1024);
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', label, ...(tree ? ['-d', tree] : []), path]);
}

/**
 * A guest tree made to escape: links to the appliance's own files (/init, /etc/shadow of the
 * appliance vs the guest's), relative links climbing above the root, loops, a file where a
 * directory is expected, and names of every byte.
 */
export function hostileTree(root: string): void {
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/shadow'), 'GUEST SHADOW\n');
  mkdirSync(join(root, 'tmp'));
  writeFileSync(join(root, 'file'), 'a file\n');
  mkdirSync(join(root, 'links'));
  const link = (target: string, name: string): void =>
    symlinkSync(target, join(root, 'links', name));
  link('/etc/shadow', 'abs-shadow');
  link('../../../../../../../../etc/shadow', 'rel-shadow');
  link('/init', 'appliance-init'); // the appliance's /init; the guest has none
  link('../../../../../../../init', 'rel-init');
  link('../../../../../../../tmp', 'rel-tmp');
  link('/..', 'root-parent');
  link('loop-b', 'loop-a');
  link('loop-a', 'loop-b');
  link('self', 'self');
  link('/file/x', 'through-file');
  mkdirSync(join(root, 'names'));
  for (const b of NAME_BYTES) {
    writeFileSync(Buffer.concat([Buffer.from(`${root}/names/n`), Buffer.from([b, 0x6e])]), '');
  }
}

export function daemonSuite(daemon: DaemonChoice): void {
  void describe(`the ${daemon === 'ts' ? 'TypeScript' : 'C'} daemon in the appliance`, () => {
    let g: Guestfs;
    let guest: DebianImage;
    const work = mkdtempSync(join(tmpdir(), `tsguestfs-daemon-${daemon}-`));
    const consoleLog = join(work, 'console.log');

    before(async () => {
      guest = await mbrImage();
      ext4Image(join(work, 'scratch.img'), 64, 'scratch');
      const tree = join(work, 'hostile');
      mkdirSync(tree);
      hostileTree(tree);
      ext4Image(join(work, 'hostile.img'), 32, 'hostile', tree);
      g = await launch({
        drives: [
          { source: guest.path, readonly: true },
          { source: join(work, 'scratch.img'), format: 'raw', discard: true },
          { source: join(work, 'hostile.img'), format: 'raw' },
        ],
        daemon,
        consoleLog,
        verbose: true,
      });
    });
    after(async () => {
      await g?.close();
      rmSync(work, { recursive: true, force: true });
    });

    void it('lists disks, partitions and filesystems, and probes them', async () => {
      assert.equal(await g.echoDaemon(['hello', 'world']), 'hello world');
      assert.deepEqual(await g.listDevices(), ['/dev/sda', '/dev/sdb', '/dev/sdc']);
      assert.deepEqual(await g.listPartitions(), ['/dev/sda1']);
      assert.deepEqual(await g.listFilesystems(), {
        '/dev/sda1': 'ext4',
        '/dev/sdb': 'ext4',
        '/dev/sdc': 'ext4',
      });
      assert.equal(await g.vfsType('/dev/sda1'), 'ext4');
      assert.equal(await g.vfsUuid('/dev/sda1'), guest.rootUuid);
      assert.equal(await g.vfsLabel('/dev/sdb'), 'scratch');
      await assert.rejects(g.vfsType('/dev/sdz'), rejectsWith('ENOENT'));
    });

    void it('mounts, reads the guest, and unmounts', async () => {
      await assert.rejects(g.isFile('/etc/fstab'), /you must call 'mount' first/);
      await g.mountRo('/dev/sda1', '/');
      assert.deepEqual(await g.mounts(), ['/dev/sda1']);
      assert.deepEqual(await g.mountpoints(), { '/dev/sda1': '/' });
      assert.equal((await g.cat('/etc/hostname')).trim(), 'debian');
      assert.ok((await g.ls('/etc')).includes('fstab'));
      assert.ok((await g.find('/etc/default')).includes('/grub'));
      assert.equal(await g.isFile('/etc/fstab'), true);
      assert.equal(await g.isDir('/etc'), true);
      assert.equal(await g.isDir('/etc/fstab'), false);
      assert.equal(await g.exists('/etc/nothing'), false);
      assert.equal(await g.isFile('/vmlinuz'), false);
      assert.equal(await g.isFile('/vmlinuz', { followsymlinks: true }), true);
      assert.match(await g.readlink('/vmlinuz'), /^boot\/vmlinuz-/);
      assert.match(await g.realpath('/vmlinuz'), /^\/boot\/vmlinuz-/);
      assert.equal(await g.caseSensitivePath('/ETC/HostName'), '/etc/hostname');
      assert.deepEqual(await g.globExpand('/etc/host{name,s}'), ['/etc/hostname', '/etc/hosts']);
      assert.deepEqual(await g.globExpand('/et?/defaul[t]'), ['/etc/default/']);
      const st = await g.statns('/etc/passwd');
      assert.equal(st.st_uid, 0n);
      assert.equal(st.st_mode & 0o170000n, 0o100000n);
      assert.equal(st.st_size, BigInt((await g.readFile('/etc/passwd')).byteLength));
      const vfs = await g.statvfs('/');
      assert.equal(vfs.namemax, 255n);
      assert.equal(vfs.flag & 1n, 1n, 'ST_RDONLY');
      assert.equal(await g.command(['/bin/cat', '/etc/hostname']), 'debian\n');
      assert.equal(await g.sh('echo $((6 * 7)); test -d /proc/self'), '42\n');
      await assert.rejects(g.writeFile('/etc/x', 'x'), rejectsWith('EROFS'));
      await assert.rejects(g.cat('/etc/nothing'), rejectsWith('ENOENT'));
      await g.umountAll();
      assert.deepEqual(await g.mounts(), []);
    });

    void it('writes, moves, copies, links, changes and removes on the scratch disk', async () => {
      await g.mount('/dev/sdb', '/');
      const data = randomBytes(1024 * 1024 + 3);
      await g.upload(Readable.from([data]), '/data');
      assert.equal(await g.filesize('/data'), BigInt(data.byteLength));
      assert.deepEqual(await g.readFile('/data'), data);
      await g.writeFile('/w.txt', 'Hello\n');
      await g.writeAppend('/w.txt', 'again\n');
      assert.deepEqual(await g.readLines('/w.txt'), ['Hello', 'again']);
      await g.mkdirP('/a/b/c');
      await g.mkdirP('/a/b/c');
      await g.touch('/a/b/c/t');
      assert.deepEqual(await g.find('/a'), ['/b', '/b/c', '/b/c/t']);
      await g.cp('/w.txt', '/a');
      await g.mv('/a/w.txt', '/a/b/moved');
      assert.equal(await g.cat('/a/b/moved'), 'Hello\nagain\n');
      await g.lnSf('../w.txt', '/a/link');
      assert.equal(await g.readlink('/a/link'), '../w.txt');
      assert.equal(await g.cat('/a/link'), 'Hello\nagain\n');
      await g.chmod(0o600, '/a/b/moved');
      assert.equal((await g.statns('/a/b/moved')).st_mode & 0o7777n, 0o600n);
      assert.equal((await g.statns('/w.txt')).st_mode & 0o777n, 0o644n);
      await g.rm('/a/link');
      await g.rmF('/a/link');
      await assert.rejects(g.rm('/a/link'), rejectsWith('ENOENT'));
      await g.rmRf('/a');
      assert.deepEqual((await g.ls('/')).sort(), ['data', 'lost+found', 'w.txt']);
      await g.rm('/data');
      await g.fstrim('/');
      await g.umountAll();
    });

    void it('keeps a hostile image’s links and `..` inside it', async () => {
      await g.mount('/dev/sdc', '/');
      assert.equal(await g.cat('/links/abs-shadow'), 'GUEST SHADOW\n');
      assert.equal(await g.cat('/links/rel-shadow'), 'GUEST SHADOW\n');
      assert.equal(await g.cat('/../../../etc/shadow'), 'GUEST SHADOW\n');
      assert.equal(await g.cat('/links/root-parent/etc/shadow'), 'GUEST SHADOW\n');
      for (const escape of ['/links/appliance-init', '/links/rel-init', '/../init']) {
        await assert.rejects(g.cat(escape), rejectsWith('ENOENT'), escape);
        assert.equal(await g.isFile(escape, { followsymlinks: true }), false);
        assert.equal(await g.exists(escape), escape !== '/../init');
      }
      assert.equal(await g.realpath('/links/rel-shadow'), '/etc/shadow');
      assert.equal(await g.realpath('/links/root-parent'), '/');
      assert.deepEqual(await g.globExpand('/links/root-parent/e*'), ['/links/root-parent/etc/']);
      // Writes through escaping links land inside the guest.
      await g.writeFile('/links/rel-tmp/written', 'inside');
      await g.upload(Readable.from([Buffer.from('uploaded')]), '/links/rel-tmp/uploaded');
      await g.mkdirP('/links/rel-tmp/made');
      await g.writeFile('/links/rel-init', 'not the appliance');
      assert.deepEqual((await g.ls('/tmp')).sort(), ['made', 'uploaded', 'written']);
      assert.equal(await g.cat('/init'), 'not the appliance');
      // Loops and a file where a directory is expected.
      for (const loop of ['/links/loop-a', '/links/self']) {
        await assert.rejects(g.cat(loop), rejectsWith('ELOOP'));
      }
      await assert.rejects(g.cat('/file/x'), rejectsWith('ENOTDIR'));
      await assert.rejects(g.cat('/links/through-file'), rejectsWith('ENOTDIR'));
      await assert.rejects(g.writeFile('/file/x', 'x'), rejectsWith('ENOTDIR'));
      assert.equal(await g.isFile('/file/x'), false);
      assert.equal(await g.cat('/file'), 'a file\n');
      // Names of every byte the client can send.
      const listed = new Set(await g.ls('/names'));
      for (const b of NAME_BYTES.filter((b) => b < 0x80)) {
        const name = `n${String.fromCharCode(b)}n`;
        assert.ok(listed.has(name), JSON.stringify(name));
        assert.equal(await g.isFile(`/names/${name}`), true, JSON.stringify(name));
      }
      await g.umountAll();
    });

    if (daemon === 'ts') {
      void it('refuses what it does not implement with ENOTSUP and stays usable', async () => {
        await assert.rejects(g.inspectOs(), rejectsWith('ENOTSUP'));
        await assert.rejects(g.partDisk('/dev/sdb', 'mbr'), rejectsWith('ENOTSUP'));
        assert.equal(await g.echoDaemon(['still', 'here']), 'still here');
      });

      void it('logs when Node.js started and when the daemon was up', () => {
        const console = readFileSync(consoleLog, 'utf8');
        assert.match(console, /guestfsd: started \(Node\.js and the modules loaded\) at uptime/);
        assert.match(console, /guestfsd: launch flag sent at uptime/);
      });
    }
  });
}
