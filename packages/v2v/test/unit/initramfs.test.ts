// The host-side initramfs reader on archives made by the real tools: cpio (newc) and the
// compressors initramfs-tools and dracut use, including Debian's early uncompressed archive
// followed by a compressed main one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CpioLister, listInitramfs } from '../../src/convert/initramfs.js';

const dir = mkdtempSync(join(tmpdir(), 'v2v-initramfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A newc archive of `files` (path -> contents), made by cpio(1). */
function cpio(name: string, files: Record<string, string>): Buffer {
  const root = join(dir, `${name}.tree`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], {
    cwd: root,
    input: Object.keys(files).join('\n') + '\n',
  });
}

const MAIN = {
  'usr/lib/modules/6.1.0-50-amd64/kernel/drivers/block/virtio_blk.ko': 'x'.repeat(3001),
  'usr/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_pci.ko.xz': 'y',
  init: '#!/bin/sh\n',
};

void describe('initramfs listing', () => {
  for (const [tool, args] of [
    ['gzip', ['-c']],
    ['zstd', ['-q', '-c']],
    ['xz', ['-c', '--check=crc32']],
    ['lz4', ['-l', '-c']],
    ['bzip2', ['-c']],
  ] as const) {
    void test(`${tool}-compressed archive`, async () => {
      const path = join(dir, `main.${tool}`);
      writeFileSync(path, execFileSync(tool, [...args], { input: cpio(tool, MAIN) }));
      const listing = await listInitramfs(path);
      assert.deepEqual([...listing.files].sort(), Object.keys(MAIN).sort());
      assert.match(listing.parts.join(' + '), new RegExp(`^${tool} cpio \\(3 files\\)$`));
    });
  }

  void test('an uncompressed early archive, then a zstd main archive (Debian with microcode)', async () => {
    const early = cpio('early', { 'kernel/x86/microcode/GenuineIntel.bin': 'ucode'.repeat(99) });
    const main = execFileSync('zstd', ['-q', '-c'], { input: cpio('main', MAIN) });
    // The kernel accepts zero padding between the archives; so must we.
    const path = join(dir, 'combined');
    writeFileSync(path, Buffer.concat([early, Buffer.alloc(512), main]));
    const listing = await listInitramfs(path);
    assert.deepEqual(listing.parts, ['uncompressed cpio (1 files)', 'zstd cpio (3 files)']);
    assert.ok(listing.files.includes('kernel/x86/microcode/GenuineIntel.bin'));
    assert.ok(
      listing.files.includes('usr/lib/modules/6.1.0-50-amd64/kernel/drivers/block/virtio_blk.ko'),
    );
  });

  void test('the streaming parser gets the same list whatever the chunk sizes', () => {
    const archive = cpio('chunks', MAIN);
    for (const size of [1, 7, 110, 4096]) {
      const lister = new CpioLister();
      for (let at = 0; at < archive.length; at += size)
        lister.push(archive.subarray(at, at + size));
      assert.deepEqual([...lister.files].sort(), Object.keys(MAIN).sort(), `chunks of ${size}`);
    }
  });

  void test('garbage is an error, not an empty list', async () => {
    const path = join(dir, 'garbage');
    writeFileSync(path, Buffer.from('this is not an initramfs at all, just text\n'));
    await assert.rejects(listInitramfs(path), /not a newc cpio header/);
    writeFileSync(path, Buffer.concat([Buffer.from([0x1f, 0x8b]), readFileSync(path)]));
    await assert.rejects(listInitramfs(path));
  });
});
