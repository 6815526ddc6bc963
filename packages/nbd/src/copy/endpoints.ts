// The two ends of a copy: NBD exports (one or more connections) and local files.
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { ExtentType, type Extent } from '../api.js';
import { NbdClient, parseNbdUri } from '../client/client.js';
import { ConfigError, messageOf } from '../errors.js';
import { FileHoles } from '@tsvirt/file-holes';
import { readFully, writeFully } from '../file-io.js';
import { TFlag } from '../protocol/constants.js';

export interface Source {
  size: number;
  pread(buf: Buffer, offset: number): Promise<void>;
  /** Extents from offset; a source that cannot tell says all data. */
  extents(count: number, offset: number): Promise<Extent[]>;
  close(): Promise<void>;
}

export interface Destination {
  /** True when unwritten ranges already read as zeroes (a new file). */
  zeroed: boolean;
  pwrite(buf: Buffer, offset: number): Promise<void>;
  zero(count: number, offset: number): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Closes after a failed copy, removing the destination if the copy created it. */
  abandon(): Promise<void>;
}

/**
 * A file destination starts writing back every this many bytes, so that the final flush
 * does not find the whole copy still in the page cache (nbdcopy does the same with
 * sync_file_range, which Node does not offer).
 */
const WRITEBACK_EVERY = 64 << 20;

export function isNbdUri(name: string): boolean {
  return /^nbds?(\+unix)?:\/\//.test(name);
}

/** Up to `connections` connections when the server allows multi-conn, used round-robin. */
class NbdEndpoint implements Source, Destination {
  zeroed = false;
  private turn = 0;
  constructor(private readonly clients: NbdClient[]) {}

  static async open(uri: string, connections: number): Promise<NbdEndpoint> {
    const options = parseNbdUri(uri);
    const first = await NbdClient.connect(options);
    const clients = [first];
    const n = first.canMultiConn ? connections : 1;
    while (clients.length < n) clients.push(await NbdClient.connect(options));
    return new NbdEndpoint(clients);
  }

  private get next(): NbdClient {
    this.turn = (this.turn + 1) % this.clients.length;
    return this.clients[this.turn]!;
  }
  get size(): number {
    return this.clients[0]!.size;
  }
  pread(buf: Buffer, offset: number): Promise<void> {
    return this.next.pread(buf, offset);
  }
  async extents(count: number, offset: number): Promise<Extent[]> {
    const client = this.next;
    if (!client.details.baseAllocation) return [{ offset, length: count, type: ExtentType.DATA }];
    return client.blockStatus(Math.min(count, 2 ** 32 - 4096), offset);
  }
  pwrite(buf: Buffer, offset: number): Promise<void> {
    return this.next.pwrite(buf, offset);
  }
  async zero(count: number, offset: number): Promise<void> {
    const client = this.next;
    if (client.details.flags & TFlag.SEND_WRITE_ZEROES) {
      for (let done = 0; done < count;) {
        const n = Math.min(count - done, 1 << 30);
        await client.zero(n, offset + done);
        done += n;
      }
      return;
    }
    const zeroes = Buffer.alloc(Math.min(count, 1 << 20));
    for (let done = 0; done < count; done += zeroes.length) {
      await client.pwrite(zeroes.subarray(0, Math.min(zeroes.length, count - done)), offset + done);
    }
  }
  async flush(): Promise<void> {
    await Promise.all(
      this.clients.filter((c) => c.details.flags & TFlag.SEND_FLUSH).map((c) => c.flush()),
    );
  }
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
  abandon(): Promise<void> {
    return this.close();
  }
}

class FileEndpoint implements Source, Destination {
  /** Bytes written since the last writeback was started, that writeback, and its error. */
  private unsynced = 0;
  private syncing: Promise<unknown> | undefined;
  private writebackError: { error: unknown } | undefined;

  constructor(
    private readonly fh: FileHandle,
    /** Named in the errors of reads and writes. */
    private readonly path: string,
    readonly size: number,
    readonly zeroed: boolean,
    private readonly seek: FileHoles | undefined,
    /** This copy created the file: it is removed again if the copy fails. */
    private readonly created = false,
  ) {}

  static async openSource(path: string): Promise<FileEndpoint> {
    const st = await stat(path).catch(() => {
      throw new ConfigError(`${path}: no such file`);
    });
    const fh = await open(path, 'r');
    const holes = st.isFile() ? FileHoles.forPath(path) : undefined;
    return new FileEndpoint(fh, path, st.size, false, holes);
  }

  static async openDestination(path: string, size: number): Promise<FileEndpoint> {
    const st = await stat(path).catch(() => undefined);
    if (st?.isBlockDevice())
      return new FileEndpoint(await open(path, 'r+'), path, size, false, undefined);
    const fh = await open(path, 'w');
    await fh.truncate(size);
    return new FileEndpoint(fh, path, size, true, undefined, !st);
  }

  pread(buf: Buffer, offset: number): Promise<void> {
    return this.named(readFully(this.fh, buf, offset));
  }
  async extents(count: number, offset: number): Promise<Extent[]> {
    const found = await this.seek?.seek(offset);
    const end = offset + count;
    if (!found) return [{ offset, length: count, type: ExtentType.DATA }];
    const [data, hole] = found;
    if (data < 0 || data >= end) return [{ offset, length: count, type: ExtentType.HOLE_ZERO }];
    if (data > offset) return [{ offset, length: data - offset, type: ExtentType.HOLE_ZERO }];
    return [
      { offset, length: Math.min(hole < 0 ? end : hole, end) - offset, type: ExtentType.DATA },
    ];
  }
  async pwrite(buf: Buffer, offset: number): Promise<void> {
    await this.named(writeFully(this.fh, buf, offset));
    this.unsynced += buf.length;
    if (this.unsynced >= WRITEBACK_EVERY && !this.syncing) {
      this.unsynced = 0;
      // Started, not awaited: the copy goes on while the kernel writes back. Its error is
      // kept for flush(): the kernel reports a writeback error to one fsync only.
      this.syncing = this.named(this.fh.datasync()).then(
        () => (this.syncing = undefined),
        (error: unknown) => {
          this.syncing = undefined;
          this.writebackError ??= { error };
        },
      );
    }
  }
  async zero(count: number, offset: number): Promise<void> {
    const zeroes = Buffer.alloc(Math.min(count, 1 << 20));
    for (let done = 0; done < count; done += zeroes.length) {
      await this.pwrite(zeroes.subarray(0, Math.min(zeroes.length, count - done)), offset + done);
    }
  }
  async flush(): Promise<void> {
    await this.syncing;
    if (this.writebackError) throw this.writebackError.error;
    await this.named(this.fh.datasync());
  }
  /** `work`'s error with this file's name in front: "copy.img: ENOSPC: no space left ...". */
  private async named<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw new Error(`${this.path}: ${messageOf(error)}`, { cause: error });
    }
  }
  async close(): Promise<void> {
    await this.syncing;
    this.seek?.close();
    await this.fh.close();
  }
  async abandon(): Promise<void> {
    await this.close();
    if (this.created) await rm(this.path, { force: true });
  }
}

export async function openSource(name: string, connections: number): Promise<Source> {
  return isNbdUri(name) ? NbdEndpoint.open(name, connections) : FileEndpoint.openSource(name);
}

export async function openDestination(
  name: string,
  size: number,
  connections: number,
): Promise<Destination> {
  if (!isNbdUri(name)) return FileEndpoint.openDestination(name, size);
  const dst = await NbdEndpoint.open(name, connections);
  if (dst.size < size) {
    await dst.close();
    throw new ConfigError(`${name} (${dst.size} bytes) is smaller than the source (${size} bytes)`);
  }
  return dst;
}
