// Guest disks on the nodes: a libvirt directory pool over the configured images directory
// (created when the node has none), volumes in it, and bytes moved through libvirt streams,
// so that no file transfer tool is needed beside the libvirt connection.
import { ErrorCode } from '@tsvirt/libvirt';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { escapeXml } from './domain-xml.js';
import type { LibvirtStream, NodeApi, StoragePoolRef, StorageVolRef } from './node-api.js';
import { libvirtErrorNumber } from './node-api.js';

/** (done, total) in bytes. */
export type ProgressCallback = (done: bigint, total: bigint) => void;

const POOL_RUNNING = 2;
export const IMAGES_POOL_NAME = 'mclu-images';

/** The active pool whose target is `dir`, defining, building and starting one if needed. */
export async function ensureImagesPool(api: NodeApi, dir: string): Promise<StoragePoolRef> {
  let pool: StoragePoolRef;
  try {
    pool = await api.lookupStoragePoolByTargetPath(dir);
  } catch (error) {
    if (libvirtErrorNumber(error) !== ErrorCode.NO_STORAGE_POOL) throw error;
    pool = await api.defineStoragePoolXml(
      `<pool type='dir'><name>${IMAGES_POOL_NAME}</name><target><path>${escapeXml(dir)}</path></target></pool>`,
    );
    await api.buildStoragePool(pool, 0);
    await api.setStoragePoolAutostart(pool, true);
  }
  const info = await api.getStoragePoolInfo(pool);
  if (info.state !== POOL_RUNNING) await api.createStoragePool(pool, 0);
  else await api.refreshStoragePool(pool);
  return pool;
}

/** An empty file-backed volume, to be filled by an upload. It is created raw and empty on
 *  purpose: a volume created as qcow2 would get a header from qemu-img that an upload of a
 *  shorter image would not fully overwrite. libvirt probes the real format on refresh. */
export function emptyVolumeXml(name: string): string {
  return `<volume><name>${escapeXml(name)}</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>`;
}

/** Writes a readable's bytes into a libvirt stream, reporting progress, then waits for the
 *  daemon to confirm the whole transfer. */
export async function pump(
  source: Readable,
  sink: LibvirtStream | Writable,
  total: bigint,
  onProgress?: ProgressCallback,
): Promise<void> {
  let done = 0n;
  try {
    for await (const chunk of source) {
      const buffer = chunk as Buffer;
      if (!sink.write(buffer)) await once(sink, 'drain');
      done += BigInt(buffer.length);
      onProgress?.(done, total);
    }
  } catch (error) {
    if ('abort' in sink) await sink.abort().catch(() => undefined);
    throw error;
  }
  sink.end();
  if ('finish' in sink) await sink.finish();
  else await once(sink, 'finish');
}

/** Uploads a local file into a new volume of the pool; returns the volume and its path. */
export async function uploadNewVolume(
  api: NodeApi,
  pool: StoragePoolRef,
  name: string,
  file: string,
  onProgress?: ProgressCallback,
): Promise<{ vol: StorageVolRef; path: string }> {
  const { size } = await stat(file);
  const bytes = BigInt(size);
  const vol = await api.createStorageVolXml(pool, emptyVolumeXml(name), 0);
  try {
    const stream = await api.uploadStorageVol(vol, 0n, bytes, 0);
    await pump(createReadStream(file), stream, bytes, onProgress);
    await api.refreshStoragePool(pool);
    return { vol, path: await api.getStorageVolPath(vol) };
  } catch (error) {
    await api.deleteStorageVol(vol, 0).catch(() => undefined);
    throw error;
  }
}
