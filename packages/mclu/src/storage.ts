// Guest disks on the nodes: a libvirt directory pool over the configured images directory
// (created when the node has none), volumes in it, and bytes moved through libvirt streams,
// so that no file transfer tool is needed beside the libvirt connection.
import { ErrorCode, StorageVolUploadFlags, StreamHole, readSparseFile } from '@tsvirt/libvirt';
import { stat } from 'node:fs/promises';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NodeApi, StoragePoolRef, StorageVolRef } from './node-api.js';
import { libvirtErrorNumber } from './node-api.js';
import { buildXml } from './xml.js';

/** (done, total) in bytes. */
export type ProgressCallback = (done: bigint, total: bigint) => void;

const POOL_RUNNING = 2;
export const IMAGES_POOL_NAME = 'mclu-images';
/** The disk formats mclu writes; a boot's volume is NAME.FORMAT. */
export const DISK_FORMATS = ['qcow2', 'raw'] as const;

/** The active pool whose target is `dir`, defining, building and starting one if needed. */
export async function ensureImagesPool(api: NodeApi, dir: string): Promise<StoragePoolRef> {
  let pool: StoragePoolRef;
  try {
    pool = await api.lookupStoragePoolByTargetPath(dir);
  } catch (error) {
    if (libvirtErrorNumber(error) !== ErrorCode.NO_STORAGE_POOL) throw error;
    pool = await api.defineStoragePoolXml(
      buildXml('pool', { '@_type': 'dir', name: IMAGES_POOL_NAME, target: { path: dir } }),
    );
    await api.buildStoragePool(pool, 0);
    await api.setStoragePoolAutostart(pool, true);
  }
  const info = await api.getStoragePoolInfo(pool);
  if (info.state !== POOL_RUNNING) await api.createStoragePool(pool, 0);
  else await api.refreshStoragePool(pool);
  return pool;
}

/** The pool over `dir` if the node has one (none: null), without creating anything. */
export async function findImagesPool(api: NodeApi, dir: string): Promise<StoragePoolRef | null> {
  try {
    return await api.lookupStoragePoolByTargetPath(dir);
  } catch (error) {
    if (libvirtErrorNumber(error) === ErrorCode.NO_STORAGE_POOL) return null;
    throw error;
  }
}

/** Bytes the pool can still take (refreshed just before). */
export async function poolAvailable(api: NodeApi, pool: StoragePoolRef): Promise<bigint> {
  return (await api.getStoragePoolInfo(pool)).available;
}

/** An empty file-backed volume, to be filled by an upload. It is created raw and empty on
 *  purpose: a volume created as qcow2 would get a header from qemu-img that an upload of a
 *  shorter image would not fully overwrite. libvirt probes the real format on refresh. */
export function emptyVolumeXml(name: string): string {
  return buildXml('volume', {
    name,
    capacity: { '@_unit': 'bytes', '#text': '0' },
    target: { format: { '@_type': 'raw' } },
  });
}

/** The volume of that name in the pool, or null. */
export async function findVolume(
  api: NodeApi,
  pool: StoragePoolRef,
  name: string,
): Promise<StorageVolRef | null> {
  try {
    return await api.lookupStorageVolByName(pool, name);
  } catch (error) {
    if (libvirtErrorNumber(error) === ErrorCode.NO_STORAGE_VOL) return null;
    throw error;
  }
}

/** Deletes a volume by pool and name; nothing to do when it is not there. */
export async function deleteVolumeIfPresent(
  api: NodeApi,
  poolName: string,
  name: string,
): Promise<void> {
  const pool = await api.lookupStoragePoolByName(poolName);
  // A refresh first: a volume made by an upload that was cut off may not be listed yet.
  await api.refreshStoragePool(pool).catch(() => undefined);
  const vol = await findVolume(api, pool, name);
  if (vol !== null) await api.deleteStorageVol(vol, 0);
}

/** Copies a readable into a writable (a libvirt stream: the daemon then confirms the end),
 *  reporting progress. The chunks may be Buffers and StreamHoles (sparse streams): a hole
 *  counts as done as soon as it is passed. Every error of either side, or an abort, fails
 *  the copy and destroys both streams (a libvirt stream is then aborted on the daemon's side). */
export async function copyStream(
  source: Readable,
  sink: Writable,
  total: bigint,
  onProgress?: ProgressCallback,
  signal?: AbortSignal,
): Promise<void> {
  let done = 0n;
  const counter = new Transform({
    objectMode: true,
    transform(chunk: Buffer | StreamHole, _encoding, callback) {
      done += chunk instanceof StreamHole ? chunk.length : BigInt(chunk.length);
      onProgress?.(done, total);
      callback(null, chunk);
    },
  });
  await pipeline(source, counter, sink, signal === undefined ? {} : { signal });
}

/** Uploads a local file into a volume that exists and is empty, as a sparse stream: its
 *  holes are not sent and stay holes in the volume. */
export async function uploadFile(
  api: NodeApi,
  vol: StorageVolRef,
  file: string,
  onProgress?: ProgressCallback,
  signal?: AbortSignal,
): Promise<void> {
  const bytes = BigInt((await stat(file)).size);
  const stream = await api.uploadStorageVol(vol, 0n, bytes, StorageVolUploadFlags.SPARSE_STREAM);
  await copyStream(readSparseFile(file), stream, bytes, onProgress, signal);
}
