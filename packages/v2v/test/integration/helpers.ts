// Shared by the integration tests: tsv2v run as users run it (a subprocess), checksums and
// allocated sizes of images, and reads of a converted guest with the real guestfish.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TSV2V = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The appliance under TCG, for us and for libguestfs's own tools (KVM hangs here). */
export const APPLIANCE_ENV = {
  LIBGUESTFS_BACKEND: 'direct',
  LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
  TSGUESTFS_ACCEL: 'tcg',
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        env: { ...process.env, ...APPLIANCE_ENV, ...options.env },
        timeout: options.timeoutMs ?? 30 * 60_000,
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout,
          stderr,
          ms: Date.now() - started,
        }),
    );
  });
}

export function tsv2v(args: readonly string[], timeoutMs?: number): Promise<RunResult> {
  return run(process.execPath, [TSV2V, ...args], timeoutMs === undefined ? {} : { timeoutMs });
}

export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs guestfish with these arguments and script; resolves to its output. */
export function guestfishScript(args: readonly string[], script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'guestfish',
      args,
      { env: { ...process.env, ...APPLIANCE_ENV }, maxBuffer: 64 << 20, timeout: 10 * 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`guestfish: ${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(script);
  });
}

/** Runs a guestfish script read-only on an image, its filesystems mounted by inspection. */
export function guestfish(image: string, script: string, format = 'raw'): Promise<string> {
  return guestfishScript(['--ro', `--format=${format}`, '-a', image, '-i'], script);
}

/** Kernel module names in an initramfs, with lsinitramfs (initramfs-tools, the real peer). */
export async function initramfsModules(initrd: string): Promise<string[]> {
  const r = await run('lsinitramfs', [initrd]);
  if (r.code !== 0) throw new Error(`lsinitramfs: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((f) => /\.ko(\.(xz|zst))?$/.test(f))
    .map((f) => f.replace(/^.*\//, '').replace(/\.ko(\.(xz|zst))?$/, ''))
    .sort();
}

/** Source (a): /dev/sda names in fstab and grub, and an initramfs without virtio. */
export const NO_VIRTIO = {
  deviceNames: 'device',
  initramfsModules: ['ata_piix', 'ata_generic', 'sd_mod', 'ext4'],
} as const;
