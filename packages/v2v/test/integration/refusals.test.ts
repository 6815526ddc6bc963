// Bad sources are refused before anything is copied, with what was found: no operating
// system, a corrupt filesystem, a root too full for the conversion, an OVF whose disk
// reference leads nowhere. The sources are made here: a blank filesystem, and qcow2
// overlays of the Debian test guest damaged with libguestfs's own guestfish (so the cached
// image stays intact; tsv2v reads them through qemu-nbd --snapshot).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debianImage, type DebianImage } from '@tsvirt/testimages';
import { spawn } from 'node:child_process';
import { APPLIANCE_ENV, TSV2V, guestfishScript, run, sha256, tempDir, tsv2v } from './helpers.js';

const TIMEOUT = 30 * 60_000;

/** An OVF naming a disk the DiskSection does not have. */
const BAD_OVF = `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References><File ovf:href="disk1.vmdk" ovf:id="file1"/></References>
  <DiskSection><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1"/></DiskSection>
  <VirtualSystem ovf:id="bad"><Name>bad</Name><VirtualHardwareSection>
    <Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
  </VirtualHardwareSection></VirtualSystem>
</Envelope>`;

void describe('bad sources fail before any copy', { timeout: TIMEOUT }, () => {
  const tmp = tempDir('v2v-bad-');
  /** An empty output directory of its own for each conversion (a failure cannot cascade). */
  const outDir = (): string => mkdtempSync(join(tmp.dir, 'out-'));
  let image: DebianImage;
  let imageSum: string;
  const corrupt = join(tmp.dir, 'corrupt.qcow2');
  const full = join(tmp.dir, 'full.qcow2');

  before(async () => {
    image = await debianImage();
    imageSum = await sha256(image.path);
    for (const overlay of [corrupt, full]) {
      const r = await run('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-b',
        image.path,
        '-F',
        'raw',
        overlay,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    // One guestfish launch damages both: sda's block bitmap says used blocks are free;
    // sdb's root is filled to 20 MiB short of full (the conversion needs 50).
    const script = [
      'run',
      // debug sh gets no device translation: the first drive's partition by its drive id.
      // guestfish splits the command into words and loses inner quotes: debugfs reads its
      // command from a file rather than from -R 'freeb 1 64'.
      'debug sh "echo freeb 1 64 > /tmp/freeb"',
      'debug sh "debugfs -w -f /tmp/freeb /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd0-part1"',
      'mount /dev/sdb1 /',
      `debug sh "fallocate -l $(( $(stat -f -c %f /sysroot) * $(stat -f -c %S /sysroot) - 20971520 )) /sysroot/filler"`,
      'umount-all',
    ].join('\n');
    await guestfishScript(['--format=qcow2', '-a', corrupt, '-a', full], script + '\n');
  });
  after(() => tmp.cleanup());

  async function refused(args: string[], message: RegExp): Promise<void> {
    const out = outDir();
    const r = await tsv2v([...args, '-o', 'local', '-os', out]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stdout, /Copying disk/, 'refused before the copy');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(readdirSync(out), [], 'nothing written');
  }

  void test('no operating system: says what filesystems it found', async () => {
    const blank = join(tmp.dir, 'blank.img');
    assert.equal((await run('truncate', ['-s', '256M', blank])).code, 0);
    assert.equal((await run('mkfs.ext4', ['-q', '-F', blank])).code, 0);
    await refused(
      ['-i', 'disk', blank],
      /inspection found no operating system on the source: filesystems found: \/dev\/sda \(ext4\)/,
    );
  });

  void test('a corrupt filesystem: e2fsck -fn finds the errors, nothing is repaired or copied', async () => {
    await refused(
      ['-i', 'disk', corrupt],
      /the ext4 filesystem on \/dev\/sda1 has errors \(e2fsck -fn: .*\); repair it in the source guest/,
    );
  });

  void test('a full root: not enough free space for the conversion', async () => {
    await refused(
      ['-i', 'disk', full],
      /not enough free space for the conversion on \/ \(\/dev\/sda1\): \d+\.\d MiB free, 50 MiB needed/,
    );
  });

  void test('an OVF disk reference that leads nowhere: refused before anything starts', async () => {
    const ova = join(tmp.dir, 'bad-ova');
    mkdirSync(ova);
    writeFileSync(join(ova, 'bad.ovf'), BAD_OVF);
    writeFileSync(join(ova, 'disk1.vmdk'), '');
    const r = await tsv2v(['-i', 'ova', ova, '-o', 'local', '-os', outDir()]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /the virtual hardware's disk "Hard disk 1" refers to "\/disk\/vmdisk2", which is not a disk of the DiskSection \(vmdisk1\)/,
    );
    assert.ok(r.ms < 20_000, 'no appliance was started');
  });

  void test('Ctrl-C during inspection: exit 130, nothing written, no process or file left', async () => {
    const privateTmp = join(tmp.dir, 'tmp');
    mkdirSync(privateTmp);
    const out = outDir();
    const child = spawn(
      process.execPath,
      [TSV2V, '-i', 'disk', image.path, '-o', 'local', '-os', out],
      {
        env: { ...process.env, ...APPLIANCE_ENV, TMPDIR: privateTmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('Inspecting the source')) resolve();
      }),
    );
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted; nothing was written/);
    assert.deepEqual(readdirSync(out), []);
    assert.deepEqual(readdirSync(privateTmp), [], 'the work directory is gone');
    const left = (await run('pgrep', ['-f', privateTmp])).stdout.trim();
    assert.equal(left, '', `processes left: ${left}`);
  });

  void test('the damaged overlays never reached the cached image', async () => {
    assert.equal(await sha256(image.path), imageSum);
  });
});
