/**
 * `-i disk IMAGE...`: bare disk images. As virt-v2v: the name comes from the first file,
 * the guest gets 2 GiB of memory, one vCPU, one NIC on the network "default", and the
 * firmware is found by inspection. The format is qemu-img's answer unless `-if` gives it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { V2vError, messageOf } from '../errors.js';
import type { SourceGuest } from '../source.js';

const run = promisify(execFile);

/** The image's format as qemu-img reads it ('raw', 'qcow2', 'vmdk'...). */
export async function detectFormat(path: string): Promise<string> {
  try {
    const { stdout } = await run('qemu-img', ['info', '--output=json', path]);
    return (JSON.parse(stdout) as { format: string }).format;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new V2vError('TOOL_MISSING', 'qemu-img is not installed (Debian: qemu-utils)');
    throw new V2vError('INPUT', `${path}: qemu-img cannot read it: ${messageOf(e).trim()}`);
  }
}

/** virt-v2v's name_from_disk: the file name without its directory and extensions. */
export function nameFromDisk(path: string): string {
  const name = basename(path).replace(/\..*$/, '');
  return name === '' ? 'guest' : name;
}

export function checkReadable(path: string): void {
  try {
    if (!statSync(path).isFile() && !statSync(path).isBlockDevice())
      throw new V2vError('INPUT', `${path}: not a file or block device`);
    accessSync(path, constants.R_OK);
  } catch (e) {
    if (e instanceof V2vError) throw e;
    throw new V2vError('INPUT', `${path}: ${messageOf(e)}`);
  }
}

export async function diskSource(paths: readonly string[], format?: string): Promise<SourceGuest> {
  if (paths.length === 0)
    throw new V2vError('USAGE', '-i disk: give the disk image(s) after the options');
  const disks = [];
  for (const path of paths) {
    checkReadable(path);
    disks.push({
      location: { path, format: format ?? (await detectFormat(path)) },
      controller: null,
    });
  }
  return {
    name: nameFromDisk(paths[0]!),
    hypervisor: 'disk',
    memoryBytes: 2048 * 1024 * 1024,
    vcpus: 1,
    firmware: null,
    disks,
    nics: [{ mac: null, network: 'default', type: 'network' }],
  };
}
