// Applying a build's operations to the guest's root, mounted in the appliance, and the steps
// every build makes whatever it is asked: the root filesystem grown to the disk, and the
// guest given its own identity (random seed; no machine-id and no ssh host keys, so that
// the guest makes fresh ones at its first boot).
import type { Guestfs } from '@tsvirt/guestfs';
import { randomBytes } from 'node:crypto';
import { BuilderError } from './errors.js';
import { FIRSTBOOT_DIR } from './debian.js';
import type { Operation } from './operations.js';

/**
 * Grows partition `partnum` of `device` to the end of the disk and its ext4 filesystem to
 * the partition, as virt-resize --expand does: the partition table first, then a forced
 * fsck (resize2fs refuses to work on a filesystem not checked since its last mount), then
 * resize2fs. Does nothing when the partition already ends at the disk's end.
 */
export async function growRoot(g: Guestfs, device: string, partnum: number): Promise<boolean> {
  const sectors = (await g.blockdevGetsize64(device)) / 512n;
  const partitions = await g.partList(device);
  const part = partitions.find((p) => p.part_num === partnum);
  if (part === undefined)
    throw new BuilderError('COMMAND_FAILED', `${device} has no partition ${partnum}`);
  const lastSector = sectors - 1n;
  if (part.part_end / 512n >= lastSector) return false;
  await g.partResize(device, partnum, lastSector);
  const filesystem = `${device}${partnum}`;
  await g.e2fsckF(filesystem);
  await g.resize2fs(filesystem);
  return true;
}

interface Account {
  home: string;
  uid: number;
  gid: number;
}

async function account(g: Guestfs, user: string): Promise<Account> {
  for (const line of await g.readLines('/etc/passwd')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === user && home !== undefined) return { home, uid: Number(uid), gid: Number(gid) };
  }
  throw new BuilderError(
    'BAD_REQUEST',
    `--ssh-inject ${user}: the guest has no user ${user} (virt-customize too needs the user to exist)`,
  );
}

/** The checks that need the guest, made before any operation changes it. */
export async function checkAgainstGuest(
  g: Guestfs,
  operations: readonly Operation[],
): Promise<void> {
  for (const op of operations) {
    if (
      op.kind === 'timezone' &&
      !(await g.isFile(`/usr/share/zoneinfo/${op.timezone}`, { followsymlinks: true }))
    )
      throw new BuilderError(
        'BAD_REQUEST',
        `--timezone ${op.timezone}: the guest has no such time zone (/usr/share/zoneinfo/${op.timezone}); use a name such as Europe/London or UTC`,
      );
    if (op.kind === 'ssh-inject') await account(g, op.user);
  }
}

async function setHostname(g: Guestfs, hostname: string): Promise<void> {
  const short = hostname.split('.')[0] ?? hostname;
  await g.writeFile('/etc/hostname', `${short}\n`);
  // Debian's convention: the machine's own name on 127.0.1.1.
  const names = hostname === short ? short : `${hostname} ${short}`;
  const hosts = (await g.exists('/etc/hosts')) ? await g.readLines('/etc/hosts') : [];
  const others = hosts.filter((line) => !/^127\.0\.1\.1\s/.test(line));
  const at = others.findIndex((line) => /^127\.0\.0\.1\s/.test(line));
  others.splice(at + 1, 0, `127.0.1.1\t${names}`);
  await g.writeFile('/etc/hosts', others.join('\n') + '\n');
}

async function injectKey(g: Guestfs, user: string, key: string): Promise<void> {
  const { home, uid, gid } = await account(g, user);
  const dir = `${home}/.ssh`;
  const file = `${dir}/authorized_keys`;
  if (!(await g.isDir(dir))) {
    await g.mkdirP(dir);
    await g.chown(uid, gid, dir);
  }
  await g.chmod(0o700, dir);
  const present = (await g.exists(file)) ? await g.readLines(file) : [];
  if (!present.includes(key)) await g.writeAppend(file, `${key}\n`);
  await g.chown(uid, gid, file);
  await g.chmod(0o600, file);
}

async function setTimezone(g: Guestfs, timezone: string): Promise<void> {
  await g.lnSf(`/usr/share/zoneinfo/${timezone}`, '/etc/localtime');
  await g.writeFile('/etc/timezone', `${timezone}\n`);
}

async function install(g: Guestfs, packages: readonly string[]): Promise<string> {
  // The daemon runs this chrooted into the guest, with the appliance's resolv.conf.
  return g.sh(
    `export DEBIAN_FRONTEND=noninteractive; apt-get -q update && apt-get -q -y install --no-install-recommends ${packages.join(' ')} && apt-get clean`,
  );
}

async function addFirstboot(g: Guestfs, command: string): Promise<void> {
  const existing = (await g.isDir(FIRSTBOOT_DIR)) ? await g.ls(FIRSTBOOT_DIR) : [];
  const index = String(existing.length + 1).padStart(4, '0');
  const path = `${FIRSTBOOT_DIR}/${index}-command`;
  await g.mkdirP(FIRSTBOOT_DIR);
  await g.writeFile(path, `#!/bin/sh\n${command}\n`);
  await g.chmod(0o755, path);
}

/** Applies one operation; returns what it printed (commands), for the log. */
export async function applyOperation(g: Guestfs, op: Operation): Promise<string> {
  switch (op.kind) {
    case 'hostname':
      await setHostname(g, op.hostname);
      return '';
    case 'ssh-inject':
      await injectKey(g, op.user, op.key);
      return '';
    case 'timezone':
      await setTimezone(g, op.timezone);
      return '';
    case 'install':
      return install(g, op.packages);
    case 'run-command':
      return g.sh(op.command);
    case 'firstboot-command':
      await addFirstboot(g, op.command);
      return '';
  }
}

/** A new random seed, and no machine-id or ssh host keys: the guest makes its own at its
 *  first boot (whatever the operations did, e.g. an installed package that made keys). */
export async function giveOwnIdentity(g: Guestfs): Promise<void> {
  await g.writeFile('/var/lib/systemd/random-seed', randomBytes(512));
  await g.chmod(0o600, '/var/lib/systemd/random-seed');
  await g.writeFile('/etc/machine-id', '');
  for (const name of await g.ls('/etc/ssh'))
    if (/^ssh_host_.*_key(\.pub)?$/.test(name)) await g.rm(`/etc/ssh/${name}`);
}

/** One line per operation, for progress messages. */
export function describeOperation(op: Operation): string {
  switch (op.kind) {
    case 'hostname':
      return `setting the host name to ${op.hostname}`;
    case 'ssh-inject':
      return `adding the ssh key from ${op.from} for ${op.user}`;
    case 'timezone':
      return `setting the time zone to ${op.timezone}`;
    case 'install':
      return `installing ${op.packages.join(', ')}`;
    case 'run-command':
      return `running: ${op.command}`;
    case 'firstboot-command':
      return `adding a first-boot command: ${op.command}`;
  }
}
