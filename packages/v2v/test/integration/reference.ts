// virt-v2v's own conversion of a test image, the reference the slow tier and the bench
// compare with. It rebuilds the initramfs every time (a quarter of an hour under TCG for an
// initramfs with MODULES=most), so each run is cached by the image's key and virt-v2v's
// version (testimages' cache: built once even by concurrent tests, renamed into place).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, type DebianImage } from '@tsvirt/testimages';
import { APPLIANCE_ENV, run } from './helpers.js';
import { treePeakRss } from './rss.js';

export interface ReferenceRun {
  /** The output directory: NAME-sda, NAME.xml, and run.json, log.txt. */
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  readonly wallMs: number;
  readonly peakRssBytes: number;
  /** True when this call ran it; false when it came from the cache. */
  readonly fresh: boolean;
}

export async function virtV2vVersion(): Promise<string> {
  const r = await run('virt-v2v', ['--version']);
  if (r.code !== 0) throw new Error(`virt-v2v --version: ${r.stderr}`);
  return r.stdout.trim().replace(/^virt-v2v\s+/, '');
}

/** Runs `command` and samples the peak RSS of its whole process tree (qemu included). */
export async function measured(
  command: string,
  args: readonly string[],
  logFile: string,
): Promise<{ code: number; wallMs: number; peakRssBytes: number; output: string }> {
  const started = Date.now();
  const child = spawn(command, args, {
    env: { ...process.env, ...APPLIANCE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const peak = treePeakRss(child.pid!);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const peakRssBytes = peak.stop();
  writeFileSync(logFile, output);
  return { code, wallMs: Date.now() - started, peakRssBytes, output };
}

export async function virtV2vReference(image: DebianImage, name: string): Promise<ReferenceRun> {
  const version = await virtV2vVersion();
  let fresh = false;
  const dir = await cached(`virt-v2v-${version}-${name}-${image.key}`, async (temp) => {
    fresh = true;
    mkdirSync(temp);
    const r = await measured(
      'virt-v2v',
      ['-i', 'disk', image.path, '-o', 'local', '-os', temp, '-on', name],
      join(temp, 'log.txt'),
    );
    if (r.code !== 0) throw new Error(`virt-v2v failed (${r.code}):\n${r.output.slice(-3000)}`);
    writeFileSync(
      join(temp, 'run.json'),
      JSON.stringify({ wallMs: r.wallMs, peakRssBytes: r.peakRssBytes }),
    );
  });
  const stats = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
    wallMs: number;
    peakRssBytes: number;
  };
  return { dir, name, version, fresh, ...stats };
}
