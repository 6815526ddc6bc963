/**
 * Files in and out of the guest: upload and download (a guest file or a whole device), and
 * the directory listings that travel as files (ls0, find0: NUL-terminated names).
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { GUESTFS_MAX_CHUNK_SIZE } from '../../protocol/xdr.generated.js';
import { type ByteString, bytesOf } from '../bytes.js';
import type { Call } from '../call.js';
import { failure, isErrno, perror, sysError } from '../errors.js';
import type { Handlers } from '../handler.js';
import { openForReading, openForWriting } from '../open-file.js';
import { entries, openDirectory, walk } from '../tree.js';

const READ_SIZE = 256 * 1024;
const WRITE_SIZE = 256 * 1024;

/** Where a Dev_or_Path argument leads, opened: the device itself, or a guest file. */
async function openTarget(
  call: Call,
  argument: string,
  name: ByteString,
  how: 'read' | 'write',
): Promise<FileHandle> {
  if (call.isDevice(argument)) {
    return open(bytesOf(name), how === 'read' ? constants.O_RDONLY : constants.O_WRONLY);
  }
  const located = await call.sysroot.locate(name, { follow: true });
  try {
    return how === 'read'
      ? await openForReading(located, name)
      : await openForWriting(located, name, 'truncate');
  } finally {
    await located.release();
  }
}

/**
 * Sends byte strings as a FileOut file, packed into full chunks (guestfsd sends one chunk per
 * name; the library only concatenates them).
 */
class ChunkedOutput {
  private pending: Buffer[] = [];
  private size = 0;
  constructor(private readonly call: Call) {}

  /** False when the library cancelled the transfer. */
  async add(data: ByteString): Promise<boolean> {
    const bytes = bytesOf(data);
    this.pending.push(bytes);
    this.size += bytes.byteLength;
    return this.size < GUESTFS_MAX_CHUNK_SIZE || (await this.flush());
  }

  async flush(): Promise<boolean> {
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.size = 0;
    return data.byteLength === 0 || (await this.call.send(data));
  }
}

export const transferHandlers = {
  upload: async ({ remotefilename }, call) => {
    let file: FileHandle;
    try {
      file = await openTarget(call, 'remotefilename', remotefilename, 'write');
    } catch (e) {
      throw perror(e, remotefilename);
    }
    // Chunks are 8 KiB: written WRITE_SIZE at a time, as each write is a round trip to
    // libuv's thread pool (an upload was 3 times slower than guestfsd's chunk by chunk).
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let written = 0n;
    const flush = async (): Promise<void> => {
      const data = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      try {
        await file.write(data, 0, data.byteLength, null);
      } catch (e) {
        await call.cancelReceive();
        throw perror(e, `write error: ${remotefilename}`);
      }
      written += BigInt(data.byteLength);
      if (call.progressHint > 0n) call.progress(written, call.progressHint);
    };
    try {
      for await (const chunk of call.receive()) {
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_SIZE) await flush();
      }
      if (pendingBytes > 0) await flush();
    } finally {
      await file.close();
    }
  },

  download: async ({ remotefilename }, call) => {
    let file: FileHandle;
    try {
      file = await openTarget(call, 'remotefilename', remotefilename, 'read');
    } catch (e) {
      if (isErrno(e, 'EISDIR')) throw failure(`${remotefilename}: is a directory`);
      throw perror(e, remotefilename);
    }
    try {
      const total = call.isDevice('remotefilename')
        ? BigInt(await deviceSize(file))
        : (await file.stat({ bigint: true })).size;
      await call.startSending();
      const buffer = Buffer.alloc(READ_SIZE);
      let sent = 0n;
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) break;
        if (!(await call.send(buffer.subarray(0, bytesRead)))) return;
        sent += BigInt(bytesRead);
        call.progress(sent, total);
      }
    } finally {
      await file.close();
    }
  },

  ls0: async ({ dir }, call) => {
    let names: ByteString[];
    try {
      names = await call.sysroot.with(dir, { follow: true }, async (f) => {
        const handle = await openDirectory(f.dir, f.name);
        try {
          return await entries(handle);
        } finally {
          await handle.close();
        }
      });
    } catch (e) {
      throw perror(e, `opendir: ${dir}`);
    }
    await call.startSending();
    const out = new ChunkedOutput(call);
    for (const name of names) if (!(await out.add(`${name}\0`))) return;
    await out.flush();
  },

  find0: async ({ directory }, call) => {
    let top: FileHandle;
    try {
      top = await call.sysroot.with(directory, { follow: true }, (f) => {
        if (f.stat === null) throw sysError('ENOENT');
        if (!f.stat.isDirectory()) throw failure(`${directory}: not a directory`);
        return openDirectory(f.dir, f.name);
      });
    } catch (e) {
      throw perror(e, directory);
    }
    try {
      await call.startSending();
      const out = new ChunkedOutput(call);
      if (await walk(top, (relative) => out.add(`${relative}\0`))) await out.flush();
    } finally {
      await top.close();
    }
  },
} satisfies Handlers;

/** A block device's size in bytes (st_size is 0 for them): from sysfs, by device number. */
async function deviceSize(file: FileHandle): Promise<number> {
  const { rdev } = await file.stat();
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  const sectors = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  return Number(sectors.trim()) * 512;
}
