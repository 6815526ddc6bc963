/**
 * Sparse volume streams on a real libvirtd: a 1 GiB disk image holding 10 MiB of data goes up
 * and comes back as its data and the lengths of its holes. The bytes that cross the connection
 * are counted, the copies compared byte for byte (cmp), and the holes checked where they must
 * stay holes: on the node (du of the volume's file) and locally.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import type { Cluster, ClusterNode } from '@tsvirt/testcluster';
import {
  type LibvirtConnection,
  LibvirtError,
  StorageVolDownloadFlags,
  StorageVolUploadFlags,
  type StoragePoolRef,
  type StorageVolRef,
  connect,
  readSparseFile,
  writeSparseFile,
} from '../../src/index.js';
import { startTestCluster } from '../support/cluster.js';

const run = promisify(execFile);
const MiB = 1 << 20;
const SIZE = 1024 * MiB;
const DATA = 10 * MiB;
/** What may cross the connection beyond the data: packet headers, hole messages, calls. */
const OVERHEAD = DATA / 50;

let cluster: Cluster;
let node: ClusterNode;
let conn: LibvirtConnection;
let pool: StoragePoolRef;
let scratch: string;
let source: string;

/** Bytes the file takes on disk (du), which holes do not count. */
async function du(path: string): Promise<number> {
  return Number((await run('du', ['--block-size=1', path])).stdout.split('\t')[0]);
}

async function sameBytes(a: string, b: string): Promise<void> {
  await run('cmp', [a, b]); // exits non-zero, and so rejects, at the first difference
}

/** A new empty raw volume, as mclu makes one before an upload. */
function emptyVolume(name: string): Promise<StorageVolRef> {
  return conn.storageVolCreateXml(
    pool,
    `<volume><name>${name}</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>`,
  );
}

before(async () => {
  cluster = await startTestCluster('sparse', 1);
  node = cluster.nodes[0]!;
  conn = await connect(node.unixUri);
  pool = await conn.storagePoolLookupByName('default');
  scratch = mkdtempSync(join(tmpdir(), 'libvirt-sparse-'));
  // 1 GiB: ten 1 MiB runs of random data, the first at 0, the others spread out; a hole at the end.
  source = join(scratch, 'source.raw');
  const fd = openSync(source, 'w');
  for (let i = 0; i < 10; i++) writeSync(fd, randomBytes(MiB), 0, MiB, i * 97 * MiB);
  ftruncateSync(fd, SIZE);
  closeSync(fd);
  assert.ok((await du(source)) <= DATA + MiB, 'the source itself is sparse');
});

after(async () => {
  await conn?.close();
  await cluster?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

void it('a sparse upload moves the data and the holes only, and the volume keeps its holes', async (t) => {
  const vol = await emptyVolume('sparse-up.raw');
  const sent = conn.bytesSent;
  const upload = await conn.storageVolUpload(
    vol,
    0n,
    BigInt(SIZE),
    StorageVolUploadFlags.SPARSE_STREAM,
  );
  await pipeline(readSparseFile(source), upload);
  const moved = conn.bytesSent - sent;
  assert.ok(moved >= DATA && moved <= DATA + OVERHEAD, `${moved} bytes sent for ${DATA} of data`);

  const onNode = join(node.imagesDir, 'sparse-up.raw');
  assert.equal(statSync(onNode).size, SIZE);
  await sameBytes(source, onNode);
  const used = await du(onNode);
  assert.ok(used <= DATA + MiB, `the volume takes ${used} bytes on the node`);
  t.diagnostic(
    `upload: ${moved} bytes sent for ${SIZE} (${DATA} of data); du on the node: ${used}`,
  );
  await conn.storagePoolRefresh(pool);
  assert.equal((await conn.storageVolGetInfo(vol)).capacity, BigInt(SIZE));
});

void it('a sparse download gives the data and the holes, and the local copy keeps its holes', async (t) => {
  const vol = await conn.storageVolLookupByName(pool, 'sparse-up.raw');
  const copy = join(scratch, 'copy.raw');
  const received = conn.bytesReceived;
  const download = await conn.storageVolDownload(
    vol,
    0n,
    0n,
    StorageVolDownloadFlags.SPARSE_STREAM,
  );
  await pipeline(download, writeSparseFile(copy));
  const moved = conn.bytesReceived - received;
  assert.ok(moved >= DATA && moved <= DATA + OVERHEAD, `${moved} bytes received for ${DATA}`);
  assert.equal(statSync(copy).size, SIZE);
  await sameBytes(source, copy);
  const used = await du(copy);
  assert.ok(used <= DATA + MiB, `the local copy takes ${used} bytes`);
  t.diagnostic(`download: ${moved} bytes received for ${SIZE}; du of the copy: ${used}`);
});

void it('without the sparse flag a hole is refused before it is sent; the connection goes on', async () => {
  const vol = await emptyVolume('not-sparse.raw');
  const upload = await conn.storageVolUpload(vol, 0n, BigInt(SIZE));
  await assert.rejects(
    pipeline(readSparseFile(source), upload),
    /a hole in a stream that is not sparse/,
  );
  // The connection goes on; the partial volume is the caller's to delete.
  await conn.storageVolDelete(vol);
  await assert.rejects(
    conn.storageVolLookupByName(pool, 'not-sparse.raw'),
    (e: unknown) => e instanceof LibvirtError && e.codeName === 'VIR_ERR_NO_STORAGE_VOL',
  );
});

void it('a download into a directory that does not exist fails on our side; the connection goes on', async () => {
  const vol = await conn.storageVolLookupByName(pool, 'sparse-up.raw');
  const download = await conn.storageVolDownload(
    vol,
    0n,
    0n,
    StorageVolDownloadFlags.SPARSE_STREAM,
  );
  await assert.rejects(
    pipeline(download, writeSparseFile(join(scratch, 'no/such/dir.raw'))),
    /ENOENT/,
  );
  assert.equal(await conn.storageVolGetPath(vol), join('/var/lib/libvirt/images', 'sparse-up.raw'));
});
