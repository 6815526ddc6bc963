// The test guests (cached by @tsvirt/testimages, read-only: never write them) and helpers to
// run the libguestfs tools on them for comparison.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { debianImage, type DebianImage } from '@tsvirt/testimages';

export const run = promisify(execFile);

export function mbrImage(): Promise<DebianImage> {
  return debianImage({ layout: 'mbr-ext4' });
}

export function lvmImage(): Promise<DebianImage> {
  return debianImage({ layout: 'gpt-lvm' });
}

/** libguestfs's own tools, forced to TCG here (KVM aborts on these machines). */
export async function libguestfsTool(tool: string, args: string[]): Promise<string> {
  const { stdout } = await run(tool, args, {
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' },
  });
  return stdout;
}

const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;

/** Runs tsguestfs; resolves with its output and exit status (it does not throw on failure). */
export async function tsguestfs(
  args: string[],
): Promise<{ stdout: string; stderr: string; status: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      maxBuffer: 256 * 1024 * 1024,
    });
    return { stdout, stderr, status: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? '', status: err.code ?? -1 };
  }
}
