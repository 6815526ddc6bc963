// Root filesystem trees: debootstrap from Debian's archive, then per image a copy given its
// packages, its own files and a script run in a chroot of it (seconds: the initramfs, for
// one, is rebuilt here by the guest's own update-initramfs rather than in a TCG appliance,
// where the same step takes a quarter of an hour). Trees travel as tar files.
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BuilderError } from './errors.js';
import { run } from './exec.js';

/** Debian's archive, unless TSVIRT_DEBIAN_MIRROR names another mirror. */
export const DEFAULT_MIRROR = process.env['TSVIRT_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';

/** What debootstrap is asked for. */
export interface DebootstrapSpec {
  /** A Debian suite: `bookworm`. */
  suite: string;
  /** Installed on top of debootstrap's `minbase` variant. */
  packages: readonly string[];
  mirror?: string | undefined;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*$/;

/** Throws for a name that is not a Debian package name (what apt would refuse anyway, but
 *  later, and it goes on debootstrap's and apt's command lines). */
export function checkPackageNames(names: readonly string[], what: string): void {
  for (const name of names) {
    if (!PACKAGE_NAME.test(name))
      throw new BuilderError(
        'BAD_REQUEST',
        `${what}: ${JSON.stringify(name)} is not a Debian package name (lower-case letters, digits, "+", "-" and ".", starting with a letter or digit)`,
      );
  }
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new BuilderError(
      'NOT_ROOT',
      `${what} needs root (debootstrap installs packages as root, and the tree is finished in a chroot); run it once as root, after which the cached result serves everyone who can read the cache`,
    );
  }
}

/**
 * debootstrap (variant minbase) of `spec` into `root`, in a private mount namespace: the
 * /proc and /dev/pts it mounts in the tree go with it if it is killed, instead of staying
 * mounted on the host (where a cleanup's rm -rf would then walk into them).
 */
export async function debootstrap(
  root: string,
  spec: DebootstrapSpec,
  signal?: AbortSignal,
): Promise<void> {
  checkPackageNames(spec.packages, 'debootstrap');
  await run(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'debootstrap',
      '--variant=minbase',
      `--include=${spec.packages.join(',')}`,
      spec.suite,
      root,
      spec.mirror ?? DEFAULT_MIRROR,
    ],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, signal },
  );
}

export interface ChrootOptions {
  /** The host's /etc/resolv.conf in the tree while the script runs (for apt). */
  network?: boolean;
  signal?: AbortSignal | undefined;
}

/** Runs a shell script chrooted into `root` with /proc, /sys and /dev mounted, in a private
 *  mount namespace so that nothing stays mounted whatever happens. */
export async function inChroot(
  root: string,
  script: string,
  options: ChrootOptions = {},
): Promise<void> {
  const resolv = options.network
    ? ': >> "$r/etc/resolv.conf"; mount --bind /etc/resolv.conf "$r/etc/resolv.conf"; '
    : '';
  await run(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-ec',
      'r="$1"; shift; mount -t proc proc "$r/proc"; mount --rbind /sys "$r/sys"; ' +
        `mount --rbind /dev "$r/dev"; ${resolv}exec chroot "$r" /bin/sh -ec "$1"`,
      'sh',
      root,
      script,
    ],
    { signal: options.signal },
  );
}

export async function tarTree(root: string, output: string, signal?: AbortSignal): Promise<void> {
  await run(['tar', '--numeric-owner', '--xattrs', '-C', root, '-cf', output, '.'], { signal });
}

export async function untarTree(tar: string, root: string, signal?: AbortSignal): Promise<void> {
  mkdirSync(root, { recursive: true });
  await run(['tar', '--numeric-owner', '--xattrs', '-C', root, '-xf', tar], { signal });
}

/** A file to write into a tree: its text, or its text and mode. */
export type TreeFile = string | { content: string; mode: number };

/** Paths relative to the root, e.g. `etc/hostname`. */
export type TreeFiles = Readonly<Record<string, TreeFile>>;

export function writeTreeFiles(root: string, files: TreeFiles): void {
  for (const [path, file] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    const { content, mode } = typeof file === 'string' ? { content: file, mode: 0o644 } : file;
    writeFileSync(target, content);
    chmodSync(target, mode);
  }
}

export interface TreeRecipe {
  /** The tar file of the tree it starts from. */
  base: string;
  /** Installed with apt-get, after the files are written (so from the sources.list they
   *  give, if any); the mirror must answer. */
  packages?: readonly string[] | undefined;
  files: TreeFiles;
  /** Run in a chroot of the tree after the files and the packages (`sh -e`). */
  script: string;
}

/** apt-get in a chroot, with no service started (policy-rc.d) and nothing left behind. */
function aptInstall(packages: readonly string[]): string {
  return [
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d",
    'chmod 755 /usr/sbin/policy-rc.d',
    'export DEBIAN_FRONTEND=noninteractive',
    'apt-get -q update',
    `apt-get -q -y install --no-install-recommends ${packages.join(' ')}`,
    'apt-get clean',
    'rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d',
  ].join('\n');
}

function kernelVersionIn(bootDir: string): string {
  const kernel = readdirSync(bootDir).find((name) => name.startsWith('vmlinuz-'));
  if (kernel === undefined)
    throw new BuilderError('COMMAND_FAILED', `the tree has no kernel: no vmlinuz-* in ${bootDir}`);
  return kernel.slice('vmlinuz-'.length);
}

/** The base tree with `recipe`'s packages, files and script applied, as `output` (a tar
 *  file); `work` is a scratch directory. Returns the version of the tree's kernel. */
export async function finishTree(
  recipe: TreeRecipe,
  work: string,
  output: string,
  signal?: AbortSignal,
): Promise<{ kernelVersion: string }> {
  requireRoot('finishing a Debian tree');
  const root = join(work, 'root');
  await untarTree(recipe.base, root, signal);
  writeTreeFiles(root, recipe.files);
  const packages = recipe.packages ?? [];
  if (packages.length > 0) {
    checkPackageNames(packages, 'packages');
    await inChroot(root, aptInstall(packages), { network: true, signal });
  }
  await inChroot(root, recipe.script, { signal });
  const kernelVersion = kernelVersionIn(join(root, 'boot'));
  await tarTree(root, output, signal);
  rmSync(root, { recursive: true, force: true });
  return { kernelVersion };
}
