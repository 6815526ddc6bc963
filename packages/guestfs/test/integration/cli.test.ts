// tsguestfs against the libguestfs tools on the LVM test guest (GPT, /boot on sda2, root on
// debian-vg/root): the same command line, the same output. Each command is one appliance
// launch on each side (30-60 s under TCG), so the file runs one comparison per command, both
// sides at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DebianImage } from '@tsvirt/testimages';
import { libguestfsTool, lvmImage, mbrImage, tsguestfs } from '../support/images.js';

void describe('tsguestfs and the libguestfs tools, side by side', () => {
  let image: DebianImage;
  const work = mkdtempSync(join(tmpdir(), 'tsguestfs-cli-test-'));
  before(async () => (image = await lvmImage()));
  after(() => rmSync(work, { recursive: true, force: true }));

  const same = async (ours: string[], theirs: [string, string[]]): Promise<string> => {
    // Both at once: two single-vCPU TCG appliances share the machine's cores.
    const [mine, reference] = await Promise.all([
      tsguestfs([...ours.slice(0, 1), '--format', 'raw', '-a', image.path, ...ours.slice(1)]),
      libguestfsTool(theirs[0], ['--format=raw', '-a', image.path, ...theirs[1]]),
    ]);
    assert.equal(mine.status, 0, mine.stderr);
    assert.equal(mine.stdout, reference);
    return mine.stdout;
  };

  void it('inspect prints what virt-inspector prints', async () => {
    const xml = await same(['inspect'], ['virt-inspector', []]);
    assert.match(xml, /<root>\/dev\/debian-vg\/root<\/root>/);
    assert.match(xml, /<mountpoint dev="\/dev\/sda2">\/boot<\/mountpoint>/);
  });

  void it('ls -l prints what virt-ls -l prints', async () => {
    await same(['ls', '-l', '/boot'], ['virt-ls', ['-l', '/boot']]);
  });

  void it('cat prints what virt-cat prints', async () => {
    const fstab = await same(['cat', '/etc/fstab'], ['virt-cat', ['/etc/fstab']]);
    assert.match(fstab, /\/boot/);
  });

  void it('df -h prints what virt-df -h prints', async () => {
    const table = await same(['df', '-h'], ['virt-df', ['-h']]);
    assert.match(table, /disk\.img:\/dev\/debian-vg\/root/);
  });

  void it('copy-out copies what virt-copy-out copies', async () => {
    const ours = join(work, 'ours');
    const theirs = join(work, 'theirs');
    mkdirSync(ours);
    mkdirSync(theirs);
    const [mine] = await Promise.all([
      tsguestfs(['copy-out', '-a', image.path, '/etc/default', '/etc/hostname', ours]),
      libguestfsTool('virt-copy-out', ['-a', image.path, '/etc/default', '/etc/hostname', theirs]),
    ]);
    assert.equal(mine.status, 0, mine.stderr);
    // Same names, contents and modes; same times for what came through tar (a single file
    // is downloaded by both tools, so it gets the time of the copy).
    const listing = (dir: string): string =>
      execFileSync('find', ['.', '-mindepth', '1', '-printf', '%p %M %s\\n'], {
        cwd: dir,
        encoding: 'utf8',
      })
        .split('\n')
        .sort()
        .join('\n');
    const times = (dir: string): string =>
      execFileSync('find', ['default', '-printf', '%p %T@\\n'], { cwd: dir, encoding: 'utf8' })
        .split('\n')
        .sort()
        .join('\n');
    assert.equal(times(ours), times(theirs));
    assert.equal(listing(ours), listing(theirs));
    execFileSync('diff', ['-r', ours, theirs]);
  });
});

void describe('copy-in, read back by guestfish', () => {
  void it('puts local files and directories into the guest, as guestfish sees them', async () => {
    const image = await mbrImage();
    const work = mkdtempSync(join(tmpdir(), 'tsguestfs-copyin-test-'));
    try {
      // A qcow2 overlay on the cached image: the test writes, the cache is untouched.
      const overlay = join(work, 'overlay.qcow2');
      execFileSync('qemu-img', [
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
      const local = join(work, 'payload');
      mkdirSync(join(local, 'sub'), { recursive: true });
      writeFileSync(join(local, 'sub', 'note.txt'), 'from tsguestfs\n');
      writeFileSync(join(work, 'single.conf'), 'key=value\n');
      const mine = await tsguestfs([
        'copy-in',
        '--format',
        'qcow2',
        '-a',
        overlay,
        local,
        join(work, 'single.conf'),
        '/root',
      ]);
      assert.equal(mine.status, 0, mine.stderr);
      const seen = await libguestfsTool('guestfish', [
        '--ro',
        '--format=qcow2',
        '-a',
        overlay,
        '-i',
        'cat',
        '/root/payload/sub/note.txt',
        ':',
        'cat',
        '/root/single.conf',
        ':',
        'find',
        '/root/payload',
      ]);
      // guestfish ends each cat with a newline of its own; find names start with "/".
      assert.equal(seen, 'from tsguestfs\n\nkey=value\n\n/sub\n/sub/note.txt\n');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
