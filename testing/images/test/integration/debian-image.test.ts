// The images are what other packages' tests stand on (inspection, conversion, templates),
// so each layout is checked the way those tests will use it: libguestfs's own inspection
// finds the OS and its filesystems where the recipe put them, and the disk really boots to
// a login prompt under TCG on the bus its initramfs can drive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bootImage, debianImage, type DebianImage } from '../../src/index.js';

const TIMEOUT = 30 * 60_000; // first build on a new machine: debootstrap + TCG assembly

/** What one read-only guestfish launch (filesystems mounted by inspection) finds: the output
 *  of `script`, and the kernel modules in the image's initramfs. One launch per image: each
 *  costs half a minute under TCG. */
function examine(image: DebianImage, script: string): { output: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'testimages-'));
  try {
    const initrd = join(dir, 'initrd');
    const result = spawnSync('guestfish', ['--ro', '-a', image.path, '-i', '--'], {
      input: `${script}\ndownload /boot/initrd.img-${image.kernelVersion} ${initrd}\n`,
      encoding: 'utf8',
      env: { ...process.env, LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' },
    });
    assert.equal(result.status, 0, result.stderr);
    const listing = spawnSync('lsinitramfs', [initrd], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const modules = listing.stdout
      .split('\n')
      .filter((f) => f.endsWith('.ko'))
      .map((f) => f.replace(/^.*\//, '').replace(/\.ko$/, ''));
    return { output: result.stdout, modules };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void describe('debian images', { timeout: TIMEOUT }, () => {
  void test('mbr-ext4: Debian 12 on /dev/sda1 by UUID, virtio in the initramfs, boots on virtio-blk', async () => {
    const image = await debianImage();
    assert.equal(image.format, 'raw');
    assert.equal(image.sizeBytes, 2 * 1024 ** 3);
    assert.equal(image.rootDevice, '/dev/sda1');
    const { output: facts, modules } = examine(
      image,
      'inspect-get-distro /dev/sda1\ninspect-get-major-version /dev/sda1\nvfs-uuid /dev/sda1\ncat /etc/fstab',
    );
    assert.match(facts, /^debian\n12\n/);
    assert.ok(facts.includes(`${image.rootUuid}\n`), facts);
    assert.match(facts, new RegExp(`^UUID=${image.rootUuid} / ext4`, 'm'));
    assert.ok(modules.includes('virtio_blk'), modules.join(' '));

    const again = await debianImage({});
    assert.equal(again.path, image.path, 'the same recipe is the same cached image');

    const boot = await bootImage({ path: image.path, bus: 'virtio' });
    assert.ok(boot.reached, `no login prompt on the serial console:\n${boot.serial.slice(-2000)}`);
    assert.match(boot.serial, /Debian GNU\/Linux 12/);
  });

  void test('mbr-ext4 with /dev/sda names and no virtio in the initramfs boots on IDE', async () => {
    const image = await debianImage({
      deviceNames: 'device',
      initramfsModules: ['ata_piix', 'ata_generic', 'sd_mod', 'ext4'],
    });
    const { output: files, modules } = examine(image, 'cat /etc/fstab\ncat /boot/grub/grub.cfg');
    assert.match(files, /^\/dev\/sda1 \/ ext4/m);
    assert.match(files, /linux\s+\/boot\/vmlinuz-\S+ root=\/dev\/sda1 /);
    assert.ok(modules.includes('ata_piix'), modules.join(' '));
    for (const virtio of ['virtio_blk', 'virtio_pci', 'virtio_scsi'])
      assert.ok(!modules.includes(virtio), `${virtio} should not be in the initramfs`);

    const boot = await bootImage({ path: image.path, bus: 'ide' });
    assert.ok(boot.reached, `no login prompt on the serial console:\n${boot.serial.slice(-2000)}`);
  });

  void test('gpt-lvm: root on LVM, /boot on sda2, boots', async () => {
    const image = await debianImage({ layout: 'gpt-lvm' });
    assert.equal(image.rootDevice, '/dev/debian-vg/root');
    const { output: facts } = examine(
      image,
      'inspect-get-mountpoints /dev/debian-vg/root\npart-get-parttype /dev/sda\nlvs',
    );
    assert.match(facts, /^\/: \/dev\/debian-vg\/root$/m);
    assert.match(facts, /^\/boot: \/dev\/sda2$/m);
    assert.match(facts, /^gpt$/m);
    assert.match(facts, /^\/dev\/debian-vg\/root$/m);
    const boot = await bootImage({ path: image.path, bus: 'virtio' });
    assert.ok(boot.reached, `no login prompt on the serial console:\n${boot.serial.slice(-2000)}`);
  });
});
