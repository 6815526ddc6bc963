/**
 * Local files as sparse streams: the chunks a sparse volume upload takes (data as Buffers, the
 * holes as StreamHoles, found with SEEK_DATA/SEEK_HOLE so they are never read), and a file
 * written from the chunks a sparse download gives (holes skipped, so they stay holes).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { FileHoles } from '@tsvirt/file-holes';
import { StreamHole } from './stream.js';

const READ_SIZE = 1 << 20;

/**
 * A file as Buffers of its data and StreamHoles for its holes, in order, e.g.
 * `pipeline(readSparseFile(path), await conn.storageVolUpload(vol, 0n, size, SPARSE_STREAM))`.
 * Only a regular file has holes to find; anything else (a block device) is all data, as is a
 * file where Perl, which finds them, is missing.
 */
export function readSparseFile(path: string): Readable {
  return Readable.from(chunks(path), { objectMode: true });
}

async function* chunks(path: string): AsyncGenerator<Buffer | StreamHole> {
  const file = await open(path, 'r');
  const stat = await file.stat();
  const holes = stat.isFile() ? FileHoles.forFd(file.fd) : null;
  try {
    const size = stat.isFile() ? stat.size : Number.POSITIVE_INFINITY;
    let at = 0;
    while (at < size) {
      // The next data at or after `at` and where it ends; without an answer, all data.
      const found = (await holes?.seek(at)) ?? [at, -1];
      const [data, hole] = found[0] < 0 ? [size, size] : found;
      if (data > at) {
        yield new StreamHole(BigInt(data - at));
        at = data;
      }
      const end = hole < 0 ? size : Math.min(hole, size);
      while (at < end) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, end - at));
        const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, at);
        if (bytesRead === 0) return; // the end of a device, or a file cut short meanwhile
        yield buffer.subarray(0, bytesRead);
        at += bytesRead;
      }
    }
  } finally {
    holes?.close();
    await file.close();
  }
}

/**
 * A file (created, or emptied) written from Buffers and StreamHoles: data where it belongs,
 * holes skipped over so they stay holes, the size set to the end of the last chunk, e.g.
 * `pipeline(await conn.storageVolDownload(vol, 0n, 0n, SPARSE_STREAM), writeSparseFile(path))`.
 */
export function writeSparseFile(path: string): Writable {
  let file: FileHandle | null = null;
  let at = 0;
  return new Writable({
    objectMode: true,
    construct(callback) {
      open(path, 'w').then((f) => {
        file = f;
        callback();
      }, callback);
    },
    write(chunk: Buffer | StreamHole, _encoding, callback) {
      if (chunk instanceof StreamHole) {
        at += Number(chunk.length);
        callback();
        return;
      }
      const start = at;
      at += chunk.byteLength;
      file!.write(chunk, 0, chunk.byteLength, start).then(() => callback(), callback);
    },
    final(callback) {
      // A trailing hole: the size says where the file ends.
      file!.truncate(at).then(() => callback(), callback);
    },
    destroy(error, callback) {
      const f = file;
      file = null;
      if (f === null) callback(error);
      else
        f.close().then(
          () => callback(error),
          () => callback(error),
        );
    },
  });
}
