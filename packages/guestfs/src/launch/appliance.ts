/**
 * The appliance: kernel, initrd and an ext2 root image with guestfsd, built by supermin from
 * the distribution's "supermin appliance" (the package lists and tarballs libguestfs installs
 * in .../guestfs/supermin.d), or a fixed appliance directory given by the user.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GuestfsLaunchError } from '../errors.js';
import { tsDaemonFiles, withTsDaemonInput } from './ts-daemon-files.js';

const run = promisify(execFile);

export interface Appliance {
  readonly kernel: string;
  readonly initrd: string;
  readonly root: string;
  /** The root image's ext2 UUID, for the kernel's `root=UUID=`. */
  readonly rootUuid: string;
  /** Where it came from, for messages: "fixed appliance DIR" or "built by supermin in DIR". */
  readonly origin: string;
}

/** Where Debian (and most distributions) install libguestfs's supermin appliance. */
export const SUPERMIN_DIRS = [
  '/usr/lib/x86_64-linux-gnu/guestfs/supermin.d',
  '/usr/lib64/guestfs/supermin.d',
  '/usr/lib/guestfs/supermin.d',
];

/** The cache of built appliances: shared by every user of this machine with the same uid. */
export function applianceCacheDir(): string {
  const uid = process.getuid?.() ?? 0;
  return process.env['TSGUESTFS_CACHEDIR'] ?? join('/var/tmp', `tsguestfs-${uid}`);
}

/**
 * Which daemon the appliance runs: libguestfs's own (`c`, the distribution's guestfsd) or this
 * package's TypeScript one (`ts`: the same appliance plus Node.js and src/daemon).
 */
export type DaemonChoice = 'c' | 'ts';

/**
 * A fixed appliance directory (kernel, initrd, root), or the supermin build of the host's
 * supermin.d, built once and cached under /var/tmp (safe under concurrent use: each build
 * goes to a temporary directory that is renamed into place). With `daemon: 'ts'` the build
 * also has Node.js and the TypeScript daemon in place of guestfsd.
 */
export async function findAppliance(
  fixedDir?: string,
  daemon: DaemonChoice = 'c',
): Promise<Appliance> {
  if (fixedDir !== undefined) {
    if (daemon !== 'c') {
      throw new GuestfsLaunchError(
        'NO_APPLIANCE',
        `a fixed appliance (${fixedDir}) runs the daemon it was built with: give the appliance directory or the daemon, not both`,
      );
    }
    return checkAppliance(fixedDir, `fixed appliance ${fixedDir}`);
  }
  const superminDir = SUPERMIN_DIRS.find((d) => existsSync(d));
  if (superminDir === undefined) {
    throw new GuestfsLaunchError(
      'NO_APPLIANCE',
      `no libguestfs appliance on this machine (looked for ${SUPERMIN_DIRS.join(', ')}): ` +
        'install libguestfs0 and supermin (apt-get install libguestfs0 supermin), or give a fixed appliance directory',
    );
  }
  const cache = applianceCacheDir();
  if (daemon === 'ts') {
    const files = tsDaemonFiles();
    const dir = join(cache, `appliance-ts-${buildKey(superminDir, files.key)}`);
    if (!existsSync(join(dir, 'root'))) {
      await withTsDaemonInput(superminDir, files, (input) => build(input, cache, dir));
    }
    return checkAppliance(dir, `built by supermin with the TypeScript daemon in ${dir}`);
  }
  const dir = join(cache, `appliance-${buildKey(superminDir)}`);
  if (!existsSync(join(dir, 'root'))) await build(superminDir, cache, dir);
  return checkAppliance(dir, `built by supermin from ${superminDir} in ${dir}`);
}

/**
 * What the build depends on: the supermin appliance's files and the host packages and kernels
 * that supermin copies in. A change to any of them gives a new key (and a new build).
 */
function buildKey(superminDir: string, extra = ''): string {
  const hash = createHash('sha256');
  hash.update(extra);
  for (const name of readdirSync(superminDir).sort()) {
    const s = statSync(join(superminDir, name));
    hash.update(`${name} ${s.size} ${s.mtimeMs}\n`);
  }
  for (const path of ['/var/lib/dpkg/status', '/boot', '/lib/modules']) {
    if (existsSync(path)) hash.update(`${path} ${statSync(path).mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

async function build(superminDir: string, cache: string, dir: string): Promise<void> {
  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const work = join(cache, `.build-${process.pid}-${Date.now()}`);
  try {
    await run(
      'supermin',
      ['--build', '--copy-kernel', '-f', 'ext2', '--host-cpu', 'x86_64', superminDir, '-o', work],
      {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, TMPDIR: process.env['TMPDIR'] ?? tmpdir() },
      },
    );
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    throw new GuestfsLaunchError(
      'NO_APPLIANCE',
      err.code === 'ENOENT'
        ? 'supermin is not installed: apt-get install supermin (it builds the appliance once)'
        : `supermin --build failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' / ')}`,
      [],
      { cause: e },
    );
  }
  // What libguestfs looks for in a fixed appliance: LIBGUESTFS_PATH=DIR then boots this one.
  writeFileSync(
    join(work, 'README.fixed'),
    'A fixed libguestfs appliance, built by @tsvirt/guestfs with supermin.\n',
  );
  try {
    renameSync(work, dir);
  } catch {
    // Another process built the same appliance first: use theirs.
    rmSync(work, { recursive: true, force: true });
  }
}

async function checkAppliance(dir: string, origin: string): Promise<Appliance> {
  const files = {
    kernel: join(dir, 'kernel'),
    initrd: join(dir, 'initrd'),
    root: join(dir, 'root'),
  };
  for (const [what, path] of Object.entries(files)) {
    if (!existsSync(path)) {
      throw new GuestfsLaunchError('NO_APPLIANCE', `${origin}: the ${what} (${path}) is missing`);
    }
  }
  return { ...files, rootUuid: await ext2Uuid(files.root), origin };
}

/** The UUID of an ext2/3/4 image: 16 bytes at 0x468, after checking the magic at 0x438. */
export async function ext2Uuid(image: string): Promise<string> {
  const handle = await open(image, 'r');
  try {
    const superblock = Buffer.alloc(0x478);
    await handle.read(superblock, 0, superblock.byteLength, 0);
    if (superblock.readUInt16LE(0x438) !== 0xef53) {
      throw new GuestfsLaunchError(
        'NO_APPLIANCE',
        `${image} is not an ext2 image (no superblock magic)`,
      );
    }
    const h = superblock.subarray(0x468, 0x478).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  } finally {
    await handle.close();
  }
}
