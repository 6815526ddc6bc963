// Copies a disk between NBD exports and files: holes and zero runs found with block status
// (or SEEK_DATA for files) are zeroed or skipped instead of read and written, and data
// read as all zeroes is not written either.
import { ExtentType } from '../api.js';
import { ProtocolError } from '../errors.js';
import { BufferPool } from '../protocol/buffer-pool.js';
import { isAllZero } from '../zeroes.js';
import { openDestination, openSource } from './endpoints.js';

export interface CopyOptions {
  connections?: number;
  /** Requests in flight in total. */
  requests?: number;
  /** Size of one read/write request. */
  requestSize?: number;
  onProgress?: (copied: number, total: number) => void;
}

export interface CopyResult {
  size: number;
  dataBytes: number;
  zeroBytes: number;
}

const STEP = 16 << 20;

export async function copyDisk(
  from: string,
  to: string,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const connections = options.connections ?? 4;
  const requestSize = options.requestSize ?? 256 * 1024;
  const src = await openSource(from, connections);
  const result: CopyResult = { size: src.size, dataBytes: 0, zeroBytes: 0 };
  try {
    const dst = await openDestination(to, src.size, connections);
    let copied = false;
    try {
      let cursor = 0;
      // The first error stops every worker; it is thrown once they have all stopped.
      let failure: { error: unknown } | undefined;
      let done = 0;
      const advance = (n: number) => {
        done += n;
        options.onProgress?.(done, src.size);
      };
      // Pooled buffers: no allocation and page faults per request, and never page-aligned
      // (see buffer-pool.ts: the kernel copies to and from those slowly on some CPUs).
      const buffers = new BufferPool();
      const copyData = async (offset: number, length: number) => {
        for (let at = offset; at < offset + length && !failure; at += requestSize) {
          const buf = buffers.get(Math.min(requestSize, offset + length - at));
          await src.pread(buf, at);
          if (isAllZero(buf)) {
            if (!dst.zeroed) await dst.zero(buf.length, at);
            result.zeroBytes += buf.length;
          } else {
            await dst.pwrite(buf, at);
            result.dataBytes += buf.length;
          }
          buffers.release(buf);
          advance(buf.length);
        }
      };
      // Each worker takes the next step of the disk, maps it, then copies it.
      const worker = async () => {
        while (cursor < src.size && !failure) {
          const start = cursor;
          const end = Math.min(start + STEP, src.size);
          cursor = end;
          for (let at = start; at < end && !failure;) {
            const asked = at;
            for (const e of await src.extents(end - at, at)) {
              if (e.offset > at) break; // a gap: ask again from there
              const t = Math.min(e.offset + e.length, end);
              if (t <= at) continue;
              if (e.type & ExtentType.ZERO) {
                if (!dst.zeroed) await dst.zero(t - at, at);
                result.zeroBytes += t - at;
                advance(t - at);
              } else await copyData(at, t - at);
              at = t;
            }
            if (at === asked) {
              throw new ProtocolError(`${from}: block status makes no progress at offset ${at}`);
            }
          }
        }
      };
      const workers = Math.max(1, options.requests ?? 16);
      await Promise.all(
        Array.from({ length: workers }, () =>
          worker().catch((error: unknown) => (failure ??= { error })),
        ),
      );
      if (failure) throw failure.error;
      await dst.flush();
      copied = true;
    } finally {
      await (copied ? dst.close() : dst.abandon());
    }
  } finally {
    await src.close();
  }
  return result;
}
