/**
 * `-i libvirt -ic URI GUEST`: a shut-off guest of a libvirt host (local or over ssh). Its XML
 * gives the metadata; each disk is looked up as a storage volume and its bytes are fetched
 * through libvirt's volume download stream into a sparse file in the work directory (zero
 * blocks are skipped, not written), which is then the source, read-only, like any disk.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { type LibvirtConnection, LibvirtError, connect } from '@tsvirt/libvirt';
import { isAllZero } from '@tsvirt/nbd';
import { V2vError, messageOf } from '../errors.js';
import type { SourceDisk, SourceGuest } from '../source.js';
import { type DomainDisk, parseDomainXml } from './libvirtxml.js';

export interface LibvirtInputOptions {
  uri: string;
  guest: string;
  /**
   * Where the disks are fetched to (the conversion's private directory); null reads only
   * the metadata (--print-source): each disk is then named where it is on the source host.
   */
  workDir: string | null;
  /** An ssh config for qemu+ssh URIs (passed as ssh -F). */
  sshConfig?: string | undefined;
  onProgress?: ((disk: number, done: number, total: number) => void) | undefined;
}

/** Writes the stream into `path` at increasing offsets, leaving holes where it reads zeroes. */
async function writeSparse(
  stream: AsyncIterable<Buffer>,
  path: string,
  size: number,
  onProgress: (done: number) => void,
): Promise<void> {
  const file = await open(path, 'w');
  try {
    let at = 0;
    for await (const chunk of stream) {
      if (!isAllZero(chunk)) await file.write(chunk, 0, chunk.length, at);
      at += chunk.length;
      onProgress(at);
    }
    if (at !== size) throw new Error(`the download stream ended after ${at} of ${size} bytes`);
    await file.truncate(size);
  } finally {
    await file.close();
  }
}

function whereOnHost(source: DomainDisk['source']): string {
  if (source.kind === 'volume') return `${source.pool}/${source.volume}`;
  return source.kind === 'path' ? source.path : source.description;
}

async function fetchDisk(
  conn: LibvirtConnection,
  disk: DomainDisk,
  path: string,
  where: string,
  onProgress: (done: number, total: number) => void,
): Promise<void> {
  let vol;
  try {
    if (disk.source.kind === 'volume') {
      const pool = await conn.lookupStoragePoolByName(disk.source.pool);
      vol = await conn.lookupStorageVolByName(pool, disk.source.volume);
    } else if (disk.source.kind === 'path') {
      vol = await conn.lookupStorageVolByPath(disk.source.path);
    } else {
      throw new V2vError(
        'INPUT',
        `${where}: disk ${disk.target} is a network disk (${disk.source.description}): not supported by -i libvirt`,
      );
    }
  } catch (e) {
    if (e instanceof LibvirtError)
      throw new V2vError(
        'INPUT',
        `${where}: disk ${disk.target} is not a storage volume libvirt knows (${e.message}); put it in a storage pool (virsh pool-refresh) or use -i disk on the host`,
        { cause: e },
      );
    throw e;
  }
  const size = Number((await conn.getStorageVolInfo(vol)).capacity);
  const stream = await conn.downloadStorageVol(vol, 0n, 0n, 0);
  await writeSparse(stream, path, size, (done) => onProgress(done, size));
}

export async function libvirtSource(options: LibvirtInputOptions): Promise<SourceGuest> {
  const where = `${options.uri} guest ${options.guest}`;
  let conn: LibvirtConnection;
  try {
    conn = await connect(
      options.uri,
      options.sshConfig ? { ssh: { configFile: options.sshConfig } } : {},
    );
  } catch (e) {
    throw new V2vError('INPUT', `-ic ${options.uri}: ${messageOf(e)}`, { cause: e });
  }
  try {
    let domain;
    try {
      domain = await conn.lookupDomainByName(options.guest);
    } catch (e) {
      if (e instanceof LibvirtError && e.codeName === 'VIR_ERR_NO_DOMAIN')
        throw new V2vError('INPUT', `${options.uri}: no guest named ${options.guest}`);
      throw e;
    }
    if (await conn.isDomainActive(domain))
      throw new V2vError(
        'INPUT',
        `${where} is running: shut it down first (converting a running guest gives a corrupt copy)`,
      );
    const parsed = parseDomainXml(await conn.getDomainXml(domain, 0), where);
    if (parsed.disks.length === 0) throw new V2vError('INPUT', `${where} has no disks`);
    const disks: SourceDisk[] = [];
    for (const [i, disk] of parsed.disks.entries()) {
      if (options.workDir === null) {
        const path = `${options.uri}: ${whereOnHost(disk.source)}`;
        disks.push({ location: { path, format: disk.format }, controller: disk.controller });
        continue;
      }
      const path = join(options.workDir, `source-${i}.${disk.format}`);
      await fetchDisk(conn, disk, path, where, (done, total) =>
        options.onProgress?.(i, done, total),
      );
      disks.push({ location: { path, format: disk.format }, controller: disk.controller });
    }
    return {
      name: parsed.name,
      hypervisor: 'libvirt',
      memoryBytes: parsed.memoryBytes,
      vcpus: parsed.vcpus,
      firmware: parsed.firmware,
      disks,
      nics: parsed.nics,
    };
  } catch (e) {
    if (e instanceof V2vError) throw e;
    throw new V2vError('INPUT', `${where}: ${messageOf(e)}`, { cause: e });
  } finally {
    await conn.close();
  }
}
