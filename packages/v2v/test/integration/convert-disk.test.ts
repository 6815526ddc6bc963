// tsv2v -i disk on the two Debian test guests (testing/images): (b) already has virtio in
// its initramfs, so it is converted end to end here (no rebuild: a couple of minutes under
// TCG); (a) names its disks /dev/sda and has no virtio in its initramfs: its dry run is
// checked here, its full conversion (an initramfs rebuild) beside virt-v2v's in the slow
// tier. Each time the source must come out unchanged, byte for byte.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debianImage, type DebianImage } from '@tsvirt/testimages';
import {
  NO_VIRTIO,
  allocated,
  guestfish,
  initramfsModules,
  sha256,
  tempDir,
  tsv2v,
} from './helpers.js';

const TIMEOUT = 40 * 60_000;
const MiB = 2 ** 20;

void describe('tsv2v -i disk -o local', { timeout: TIMEOUT }, () => {
  const tmp = tempDir('v2v-disk-');
  let withVirtio: DebianImage;
  let noVirtio: DebianImage;
  before(async () => {
    withVirtio = await debianImage();
    noVirtio = await debianImage(NO_VIRTIO);
  });
  after(() => tmp.cleanup());

  void test('(b) virtio present: converted, the initramfs kept, the source unchanged', async () => {
    const out = join(tmp.dir, 'b');
    mkdirSync(out);
    const before = await sha256(withVirtio.path);
    const r = await tsv2v([
      '-i',
      'disk',
      withVirtio.path,
      '-o',
      'local',
      '-os',
      out,
      '-on',
      'guestb',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    process.stderr.write(`tsv2v (b): ${(r.ms / 1000).toFixed(0)} s\n`);
    assert.equal(await sha256(withVirtio.path), before, 'the source is unchanged');
    assert.match(
      r.stdout,
      /initramfs \/boot\/initrd\.img-\S+: kept: it already has [^\n]*virtio_blk[^\n]*virtio_pci/,
    );
    assert.match(r.stdout, /device names: nothing to remap/);
    assert.deepEqual(readdirSync(out).sort(), ['guestb-sda', 'guestb.xml']);

    const disk = join(out, 'guestb-sda');
    // fstrim made the free space holes: the copy holds about what the filesystem uses.
    const used = allocated(disk);
    process.stderr.write(
      `tsv2v (b): ${(used / MiB).toFixed(0)} MiB allocated of ${(withVirtio.sizeBytes / MiB).toFixed(0)}\n`,
    );
    assert.ok(used > 600 * MiB && used < 1000 * MiB, `allocated ${used}`);

    const xml = readFileSync(join(out, 'guestb.xml'), 'utf8');
    assert.match(xml, /<type arch="x86_64" machine="q35">hvm<\/type>/);
    assert.match(xml, /<source file="[^"]*guestb-sda"\/>\s*<target dev="vda" bus="virtio"\/>/);
    assert.match(xml, /<memory unit="KiB">2097152<\/memory>/);
    assert.match(xml, /<model type="virtio"\/>/);
    assert.match(xml, /org\.qemu\.guest_agent\.0/);

    const initrd = join(tmp.dir, 'initrd-b');
    const files = await guestfish(
      disk,
      [
        'cat /etc/initramfs-tools/modules',
        'ls /usr/lib/virt-sysprep/scripts',
        'is-file /usr/lib/systemd/system/guestfs-firstboot.service',
        'exists /boot/initrd.img-' + withVirtio.kernelVersion + '.pre-v2v',
        'cat /etc/fstab',
        `download /boot/initrd.img-${withVirtio.kernelVersion} ${initrd}`,
      ].join('\n') + '\n',
    );
    assert.match(files, /^virtio_blk$/m);
    assert.match(files, /5000-0003-install-qga/);
    assert.match(
      files,
      /^true\nfalse\n/m,
      'firstboot unit written; no .pre-v2v: the initramfs was not rebuilt',
    );
    assert.match(files, new RegExp(`^UUID=${withVirtio.rootUuid} / ext4`, 'm'));
    const modules = await initramfsModules(initrd);
    for (const m of ['virtio_blk', 'virtio_pci'])
      assert.ok(modules.includes(m), `${m} in the initramfs`);
  });

  void test('(a) no virtio, /dev/sda names: --dry-run plans the rebuild and the remapping, writes nothing', async () => {
    const out = join(tmp.dir, 'a');
    mkdirSync(out);
    const before = await sha256(noVirtio.path);
    const r = await tsv2v(['-i', 'disk', noVirtio.path, '-o', 'local', '-os', out, '--dry-run']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /rebuilt with update-initramfs: it lacks [^\n]*virtio_blk/);
    assert.match(r.stdout, /\/etc\/fstab: \/dev\/sda1 -> \/dev\/vda1/);
    assert.match(r.stdout, /\/boot\/grub\/grub\.cfg: root=\/resume= device names on 3 linux line/);
    assert.match(r.stdout, /Dry run: nothing was written/);
    assert.deepEqual(readdirSync(out), [], 'nothing written');
    assert.equal(await sha256(noVirtio.path), before, 'the source is unchanged');
  });

  void test('--print-source, --machine-readable and usage errors need no appliance', async () => {
    const p = await tsv2v(['-i', 'disk', withVirtio.path, '--print-source']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /source name: disk\n/);
    assert.match(p.stdout, /memory: 2147483648 \(bytes\)/);
    const caps = await tsv2v(['--machine-readable']);
    assert.match(caps.stdout, /^input:ova$/m);
    for (const [args, message] of [
      [['-i', 'disk', withVirtio.path, '-o', 'local'], /-o local needs -os DIRECTORY/],
      [['-i', 'disk', withVirtio.path, '-o', 'null', '--mac', 'x'], /--mac is not implemented/],
      [['-i', 'disk', '/nonexistent.img', '-o', 'null'], /\/nonexistent\.img: ENOENT/],
      [
        ['-i', 'disk', withVirtio.path, '-o', 'local', '-os', '/nonexistent-dir'],
        /-os \/nonexistent-dir/,
      ],
    ] as const) {
      const r = await tsv2v(args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.ok(!existsSync('/nonexistent-dir'));
  });
});
