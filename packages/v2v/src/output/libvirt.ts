/**
 * `-o libvirt -oc URI -os POOL`: each disk becomes a volume NAME-sda... of the pool,
 * uploaded through libvirt's stream (only the ranges that hold data: a new raw volume reads
 * as zeroes elsewhere; a qcow2 disk is made locally, then uploaded whole), and the guest is
 * defined on that libvirt. A failure removes the volumes made and the definition.
 */
import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type DomainRef,
  type LibvirtConnection,
  LibvirtError,
  type StoragePoolRef,
  type StorageVolRef,
  connect,
} from '@tsvirt/libvirt';
import { NbdClient, parseNbdUri } from '@tsvirt/nbd';
import { driveName } from '../convert/linux.js';
import { dataExtents } from '../data-extents.js';
import { type NetworkMapping, type TargetDisk, domainXml } from '../domain-xml.js';
import { V2vError, messageOf } from '../errors.js';
import { type DiskFormatOptions, copyToFile } from './local.js';
import type { CopyStats, DiskTarget, GuestMetadata, Output, ProgressCallback } from './output.js';

export interface LibvirtOutputOptions extends DiskFormatOptions {
  readonly uri: string;
  readonly pool: string;
  readonly network: NetworkMapping;
  /** Default: kvm when the host's capabilities offer it, else qemu (software emulation). */
  readonly domainType?: 'kvm' | 'qemu' | undefined;
  readonly sshConfig?: string | undefined;
  /** Give the guest a vsock device when its kernel has one (virt-v2v does; default true).
   *  A host without /dev/vhost-vsock cannot start such a guest. */
  readonly vsock?: boolean | undefined;
  /** Log the serial console to this file on the host (mclu's guests do). */
  readonly serialLog?: string | undefined;
  /** The display, instead of the source's (an SDL window cannot open on a headless node). */
  readonly graphics?: 'sdl' | 'vnc' | undefined;
  /** An open connection to use instead of `uri` (not closed by the output). */
  readonly connection?: OutputConnection | undefined;
}

/** What this output does with an upload stream (libvirt's LibvirtStream, or mclu's view of it). */
export interface UploadStream extends Duplex {
  finish(): Promise<void>;
}

/** The calls this output makes: a LibvirtConnection, or any object with these (mclu's). */
export type OutputConnection = {
  uploadStorageVol(
    vol: StorageVolRef,
    offset: bigint,
    length: bigint,
    flags?: number,
  ): Promise<UploadStream>;
} & Pick<
  LibvirtConnection,
  | 'close'
  | 'getCapabilities'
  | 'lookupDomainByName'
  | 'defineDomainXml'
  | 'undefineDomain'
  | 'lookupStoragePoolByName'
  | 'getStoragePoolInfo'
  | 'refreshStoragePool'
  | 'lookupStorageVolByName'
  | 'createStorageVolXml'
  | 'deleteStorageVol'
>;

/** Data ranges closer than this are sent as one upload (the gap as zeroes). */
const MERGE_GAP = 1 << 20;
const CHUNK = 4 << 20;

/** The overlay's data ranges, from block status, merged across small gaps. */
async function dataRanges(client: NbdClient): Promise<{ offset: number; length: number }[]> {
  const ranges: { offset: number; length: number }[] = [];
  for await (const e of dataExtents(client)) {
    const last = ranges[ranges.length - 1];
    if (last && e.offset - (last.offset + last.length) <= MERGE_GAP)
      last.length = e.offset + e.length - last.offset;
    else ranges.push({ ...e });
  }
  return ranges;
}

export class LibvirtOutput implements Output {
  readonly description: string;
  private conn: OutputConnection | null = null;
  private pool: StoragePoolRef | null = null;
  private readonly volumes: StorageVolRef[] = [];
  private domain: DomainRef | null = null;

  constructor(private readonly options: LibvirtOutputOptions) {
    this.description = `-o libvirt -oc ${options.uri} -os ${options.pool}`;
  }

  private async connection(): Promise<OutputConnection> {
    if (this.options.connection) return this.options.connection;
    try {
      this.conn ??= await connect(
        this.options.uri,
        this.options.sshConfig ? { ssh: { configFile: this.options.sshConfig } } : {},
      );
    } catch (e) {
      throw new V2vError('OUTPUT', `-oc ${this.options.uri}: ${messageOf(e)}`, { cause: e });
    }
    return this.conn;
  }

  targets(name: string, count: number): TargetDisk[] {
    return Array.from({ length: count }, (_, i) => ({
      kind: 'volume' as const,
      pool: this.options.pool,
      volume: `${name}-sd${driveName(i)}`,
      format: this.options.format,
    }));
  }

  async prepare(name: string, disks: readonly { size: number }[]): Promise<void> {
    const conn = await this.connection();
    try {
      this.pool = await conn.lookupStoragePoolByName(this.options.pool);
    } catch (e) {
      if (e instanceof LibvirtError)
        throw new V2vError(
          'OUTPUT',
          `-os ${this.options.pool}: no such storage pool on ${this.options.uri} (${e.message})`,
        );
      throw e;
    }
    const info = await conn.getStoragePoolInfo(this.pool);
    if (info.state !== 2)
      throw new V2vError(
        'OUTPUT',
        `the storage pool ${this.options.pool} is not active (virsh pool-start ${this.options.pool})`,
      );
    try {
      await conn.lookupDomainByName(name);
      throw new V2vError(
        'OUTPUT',
        `a guest named ${name} already exists on ${this.options.uri}: choose another name with -on`,
      );
    } catch (e) {
      if (!(e instanceof LibvirtError)) throw e;
    }
    await conn.refreshStoragePool(this.pool);
    for (const t of this.targets(name, disks.length)) {
      if (t.kind !== 'volume') continue;
      try {
        await conn.lookupStorageVolByName(this.pool, t.volume);
      } catch (e) {
        if (e instanceof LibvirtError) continue;
        throw e;
      }
      throw new V2vError(
        'OUTPUT',
        `the volume ${t.volume} already exists in the pool ${this.options.pool}: remove it, or choose another name with -on`,
      );
    }
  }

  async writeDisk(
    name: string,
    disk: DiskTarget,
    onProgress: ProgressCallback,
  ): Promise<CopyStats> {
    const conn = await this.connection();
    const pool = this.pool!;
    const volume = `${name}-sd${driveName(disk.index)}`;
    try {
      if (this.options.format === 'qcow2')
        return await this.uploadQcow2(conn, pool, volume, disk, onProgress);
      const vol = await conn.createStorageVolXml(
        pool,
        volumeXml(volume, disk.size, 'raw', this.options.allocation),
        0,
      );
      this.volumes.push(vol);
      const client = await NbdClient.connect(parseNbdUri(disk.uri));
      try {
        const ranges = await dataRanges(client);
        let dataBytes = 0;
        const total = ranges.reduce((n, r) => n + r.length, 0);
        for (const range of ranges) {
          const stream = await conn.uploadStorageVol(
            vol,
            BigInt(range.offset),
            BigInt(range.length),
            0,
          );
          for (let at = range.offset; at < range.offset + range.length; at += CHUNK) {
            const buf = Buffer.alloc(Math.min(CHUNK, range.offset + range.length - at));
            await client.pread(buf, at);
            if (!stream.write(buf)) await new Promise((r) => stream.once('drain', r));
            dataBytes += buf.length;
            onProgress(dataBytes, total);
          }
          await stream.finish();
        }
        return { size: disk.size, dataBytes, zeroBytes: disk.size - dataBytes };
      } finally {
        await client.close();
      }
    } catch (e) {
      if (e instanceof V2vError) throw e;
      throw new V2vError(
        'COPY',
        `uploading disk ${disk.index + 1} to the volume ${volume} of ${this.options.pool} failed: ${messageOf(e)}`,
        { cause: e },
      );
    }
  }

  private async uploadQcow2(
    conn: OutputConnection,
    pool: StoragePoolRef,
    volume: string,
    disk: DiskTarget,
    onProgress: ProgressCallback,
  ): Promise<CopyStats> {
    const dir = mkdtempSync(join(this.options.workDir, 'qcow2-'));
    try {
      const local = join(dir, volume);
      const stats = await copyToFile(
        disk.uri,
        local,
        disk.size,
        this.options,
        onProgress,
        'qcow2.sock',
      );
      const size = statSync(local).size;
      const vol = await conn.createStorageVolXml(
        pool,
        volumeXml(volume, disk.size, 'qcow2', 'sparse'),
        0,
      );
      this.volumes.push(vol);
      const stream = await conn.uploadStorageVol(vol, 0n, BigInt(size), 0);
      await pipeline(createReadStream(local), stream);
      return stats;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async finish(guest: GuestMetadata, diskCount: number): Promise<string> {
    const conn = await this.connection();
    await conn.refreshStoragePool(this.pool!);
    const domainType =
      this.options.domainType ??
      ((await conn.getCapabilities()).includes("<domain type='kvm'") ? 'kvm' : 'qemu');
    const guestcaps = {
      ...guest.guestcaps,
      virtioSocket: guest.guestcaps.virtioSocket && this.options.vsock !== false,
    };
    const xml = domainXml({
      ...guest,
      guestcaps,
      disks: this.targets(guest.name, diskCount),
      domainType,
      network: this.options.network,
      graphics: this.options.graphics ?? guest.graphics,
      serialLog: this.options.serialLog,
    });
    this.domain = await conn.defineDomainXml(xml, 0);
    return `${guest.name} on ${this.options.uri} (${domainType})`;
  }

  /** The domain defined by finish() (for a caller that starts it). */
  get defined(): { conn: OutputConnection | null; domain: DomainRef | null } {
    return { conn: this.options.connection ?? this.conn, domain: this.domain };
  }

  async abandon(): Promise<void> {
    const conn = this.options.connection ?? this.conn;
    if (conn === null) return;
    for (const vol of this.volumes.splice(0))
      await conn.deleteStorageVol(vol, 0).catch(() => undefined);
    if (this.domain !== null) await conn.undefineDomain(this.domain, 0).catch(() => undefined);
    this.domain = null;
  }

  async close(): Promise<void> {
    await this.conn?.close();
    this.conn = null;
  }
}

function volumeXml(
  name: string,
  size: number,
  format: string,
  allocation: 'sparse' | 'preallocated',
): string {
  return `<volume><name>${name}</name><capacity unit='bytes'>${size}</capacity><allocation unit='bytes'>${allocation === 'preallocated' ? size : 0}</allocation><target><format type='${format}'/></target></volume>`;
}
