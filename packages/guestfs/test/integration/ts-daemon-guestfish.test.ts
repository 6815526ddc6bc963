// Debian's guestfish (libguestfs's C library) driving the TypeScript daemon through a fixed
// appliance (LIBGUESTFS_PATH), and the same script against its own appliance and C daemon, on
// the same images: the outputs and error messages must be the same. Two launches (TCG), at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { findAppliance } from '../../src/index.js';
import { ext4Image, hostileTree } from '../support/daemon-suite.js';
import { mbrImage } from '../support/images.js';

/** guestfish's commands, one a line; a leading `-` lets the script go on after an error. */
function script(guest: string, dir: string): string {
  return `
add-drive-opts ${guest} readonly:true format:raw
add-drive-opts ${dir}/scratch.img format:raw
add-drive-opts ${dir}/hostile.img format:raw
run
echo-daemon "hello world"
list-devices
list-partitions
list-filesystems
vfs-type /dev/sda1
vfs-uuid /dev/sda1
vfs-label /dev/sdb
-is-file /etc/fstab
mount-ro /dev/sda1 /
mounts
mountpoints
cat /etc/hostname
is-file /etc/fstab
is-dir /etc
exists /etc/nothing
is-file /vmlinuz followsymlinks:true
readlink /vmlinuz
realpath /vmlinuz
case-sensitive-path /ETC/HostName
glob-expand /etc/host*
glob-expand /etc/default/* directoryslash:false
ls /etc/default
find /etc/default
statns /etc/passwd
statvfs /
command "/bin/cat /etc/hostname"
sh "echo hi; ls /etc/default | head -2"
-write /etc/x x
-cat /etc/nothing
umount-all
mount /dev/sdb /
write /w.txt "Hello"
write-append /w.txt " again"
cat /w.txt
upload ${dir}/data /data
filesize /data
download /data ${dir}/data.back
mkdir-p /a/b/c
touch /a/b/c/t
find /a
cp /w.txt /a
mv /a/w.txt /a/b/moved
ln-sf ../w.txt /a/link
readlink /a/link
chmod 0600 /a/b/moved
-rm /a/b
rm /a/link
rm-f /a/link
-rm /a/link
rm-rf /a
ls /
fstrim /
umount-all
mount /dev/sdc /
cat /links/abs-shadow
cat /links/rel-shadow
cat /links/root-parent/etc/shadow
-cat /links/appliance-init
-cat /links/rel-init
is-file /links/rel-init followsymlinks:true
realpath /links/rel-shadow
write /links/rel-tmp/written inside
ls /tmp
-cat /links/loop-a
-cat /links/through-file
-write /file/x x
ls /names
umount-all
`;
}

void describe('Debian’s guestfish against the TypeScript daemon (fixed appliance)', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsguestfs-guestfish-'));
  let guest: string;
  let tsAppliance: string;

  before(async () => {
    guest = (await mbrImage()).path;
    tsAppliance = dirname((await findAppliance(undefined, 'ts')).root);
    // One scratch and one hostile image, copied for each run so both start identical.
    ext4Image(join(work, 'scratch.img'), 64, 'scratch');
    const tree = join(work, 'tree');
    mkdirSync(tree);
    hostileTree(tree);
    ext4Image(join(work, 'hostile.img'), 32, 'hostile', tree);
    writeFileSync(join(work, 'data'), randomBytes(300_000));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Runs the script on fresh copies of the images; stdout and stderr. */
  async function guestfish(name: string, env: NodeJS.ProcessEnv): Promise<string> {
    const dir = join(work, name);
    mkdirSync(dir);
    for (const f of ['scratch.img', 'hostile.img', 'data'])
      copyFileSync(join(work, f), join(dir, f));
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = execFile(
          'guestfish',
          [],
          {
            env: {
              ...process.env,
              LIBGUESTFS_BACKEND: 'direct',
              LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
              ...env,
            },
            maxBuffer: 64 * 1024 * 1024,
          },
          (e, stdout, stderr) =>
            e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve({ stdout, stderr }),
        );
        child.stdin!.end(script(guest, dir));
      },
    );
    assert.deepEqual(readFileSync(join(dir, 'data.back')), readFileSync(join(work, 'data')));
    // st_dev is the appliance kernel's number for the disk, which depends on the order it
    // probed the disks in (the API's /dev/sda may be the kernel's sdd): not the daemon's.
    const output = stdout
      .split(dir)
      .join('DIR')
      .replace(/^st_dev: \d+$/m, 'st_dev: N');
    return `${output}\n--- stderr\n${stderr.split(dir).join('DIR')}`;
  }

  void it('gives the same output and errors as against its own daemon', async () => {
    // Side by side: each appliance is one qemu process (one CPU under TCG).
    const [ours, theirs] = await Promise.all([
      guestfish('ts', { LIBGUESTFS_PATH: tsAppliance }),
      guestfish('c', {}),
    ]);
    assert.equal(ours, theirs);
    assert.match(ours, /^hello world$/m);
    assert.match(ours, /^GUEST SHADOW$/m);
  });
});
