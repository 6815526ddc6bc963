/**
 * `-o local -os DIR` (virt-v2v's `-o disk`): the disks as NAME-sda, NAME-sdb... in DIR (raw
 * or qcow2, sparse or preallocated) and NAME.xml, a libvirt domain for them.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyDisk } from '@tsvirt/nbd';
import { driveName } from '../convert/linux.js';
import { type NetworkMapping, type TargetDisk, domainXml } from '../domain-xml.js';
import { V2vError, messageOf } from '../errors.js';
import { startNbdServer } from '../nbd-servers.js';
import type { CopyStats, DiskTarget, GuestMetadata, Output, ProgressCallback } from './output.js';

const run = promisify(execFile);

export interface DiskFormatOptions {
  readonly format: 'raw' | 'qcow2';
  readonly allocation: 'sparse' | 'preallocated';
  /** A private directory for the sockets of target servers. */
  readonly workDir: string;
}

/** Copies the overlay at `uri` into a new file `path` in the wanted format and allocation. */
export async function copyToFile(
  uri: string,
  path: string,
  size: number,
  options: DiskFormatOptions,
  onProgress: ProgressCallback,
  socketName: string,
): Promise<CopyStats> {
  try {
    if (options.format === 'raw') {
      const stats = await copyDisk(uri, path, { onProgress });
      // fallocate mode 0 allocates the holes and leaves the data alone.
      if (options.allocation === 'preallocated') await run('fallocate', ['-l', String(size), path]);
      return stats;
    }
    await run('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      ...(options.allocation === 'preallocated' ? ['-o', 'preallocation=metadata'] : []),
      path,
      String(size),
    ]);
    const socket = join(options.workDir, socketName);
    const server = await startNbdServer(
      `target ${path}`,
      'qemu-nbd',
      ['-t', '--shared=0', '--discard=unmap', '-f', 'qcow2', '--socket', socket, path],
      socket,
    );
    try {
      return await copyDisk(uri, server.uri, { onProgress });
    } finally {
      await server.stop();
    }
  } catch (e) {
    rmSync(path, { force: true });
    if (e instanceof V2vError) throw e;
    throw new V2vError('COPY', `copying to ${path} failed: ${messageOf(e)}`, { cause: e });
  }
}

export class LocalOutput implements Output {
  readonly description: string;
  private readonly made: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly disk: DiskFormatOptions,
    private readonly network: NetworkMapping = { kind: 'source' },
  ) {
    this.description = `-o local -os ${dir}`;
  }

  targets(name: string, count: number): TargetDisk[] {
    return Array.from({ length: count }, (_, i) => ({
      kind: 'file' as const,
      path: join(this.dir, `${name}-sd${driveName(i)}`),
      format: this.disk.format,
    }));
  }

  prepare(name: string, disks: readonly { size: number }[]): Promise<void> {
    try {
      if (!statSync(this.dir).isDirectory()) throw new Error('not a directory');
      accessSync(this.dir, constants.W_OK);
    } catch (e) {
      throw new V2vError(
        'OUTPUT',
        `-os ${this.dir}: ${messageOf(e)}: give an existing, writable directory`,
      );
    }
    for (const path of [
      ...this.targets(name, disks.length).map((t) => (t.kind === 'file' ? t.path : '')),
      join(this.dir, `${name}.xml`),
    ])
      if (existsSync(path))
        throw new V2vError(
          'OUTPUT',
          `${path} already exists: remove it, or choose another name with -on`,
        );
    return Promise.resolve();
  }

  async writeDisk(
    name: string,
    disk: DiskTarget,
    onProgress: ProgressCallback,
  ): Promise<CopyStats> {
    const target = this.targets(name, disk.index + 1)[disk.index]!;
    const path = target.kind === 'file' ? target.path : '';
    this.made.push(path);
    return copyToFile(disk.uri, path, disk.size, this.disk, onProgress, `out${disk.index}`);
  }

  finish(guest: GuestMetadata, diskCount: number): Promise<string> {
    const path = join(this.dir, `${guest.name}.xml`);
    this.made.push(path);
    const disks = this.targets(guest.name, diskCount);
    writeFileSync(path, domainXml({ ...guest, disks, domainType: 'kvm', network: this.network }));
    return Promise.resolve(path);
  }

  abandon(): Promise<void> {
    for (const path of this.made) rmSync(path, { force: true });
    return Promise.resolve();
  }
}
