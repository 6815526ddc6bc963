/**
 * `-o null`: everything is done, the copy included (into tsnbd's null plugin, which discards
 * what it is given), and nothing is kept: a way to test a conversion and time the copy.
 */
import { join } from 'node:path';
import { copyDisk } from '@tsvirt/nbd';
import type { TargetDisk } from '../domain-xml.js';
import { startNbdServer, tsnbdPath } from '../nbd-servers.js';
import type { CopyStats, DiskTarget, Output, ProgressCallback } from './output.js';

export class NullOutput implements Output {
  readonly description = '-o null';
  constructor(private readonly workDir: string) {}

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  targets(): TargetDisk[] {
    return [];
  }

  async writeDisk(
    _name: string,
    disk: DiskTarget,
    onProgress: ProgressCallback,
  ): Promise<CopyStats> {
    const socket = join(this.workDir, `null${disk.index}`);
    const server = await startNbdServer(
      'the null output',
      process.execPath,
      [tsnbdPath(), '-f', '--exit-with-parent', '-U', socket, 'null', `size=${disk.size}`],
      socket,
    );
    try {
      return await copyDisk(disk.uri, server.uri, { onProgress });
    } finally {
      await server.stop();
    }
  }

  finish(): Promise<string> {
    return Promise.resolve('nothing (-o null)');
  }

  abandon(): Promise<void> {
    return Promise.resolve();
  }
}
