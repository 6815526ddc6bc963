// file: serves a regular file or a block device (nbdkit-file-plugin).
import { readFile } from 'node:fs/promises';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ExtentType, definePlugin, type Extent } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { FileHoles } from '@tsvirt/file-holes';
import { readFully, writeFully } from '../file-io.js';

interface FileHandleState {
  fh: FileHandle;
  size: number;
}

const ZERO_CHUNK = 1 << 20;
const MAX_SEEK_STEPS = 256;

async function blockDeviceSize(rdev: number): Promise<number> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8);
  const sectors = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  return Number(sectors.trim()) * 512;
}

export function createFilePlugin() {
  let path: string | undefined;
  let isBlockDevice = false;
  let helper: FileHoles | undefined;

  async function punch(count: number, offset: number): Promise<boolean> {
    return !isBlockDevice && helper !== undefined && helper.punchHole(offset, count);
  }

  return definePlugin<FileHandleState>({
    name: 'file',
    threadModel: 'multiProcess', // every worker opens the file; the kernel shares its pages
    description: 'Serves a local file or block device.',
    keys: [{ key: 'file=PATH', help: 'The file or block device to serve (required).' }],
    magicConfigKey: 'file',
    config(key, value) {
      if (key !== 'file') throw new ConfigError(`file: unknown parameter ${key}`);
      path = value;
    },
    async configComplete() {
      if (path === undefined) throw new ConfigError('file: file= is required');
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
        throw new ConfigError(`file: cannot use ${path}: ${err.code ?? err.message}`);
      });
      if (!st.isFile() && !st.isBlockDevice()) {
        throw new ConfigError(`file: ${path} is neither a regular file nor a block device`);
      }
      isBlockDevice = st.isBlockDevice();
      if (!isBlockDevice) helper = FileHoles.forPath(path);
    },
    cleanup() {
      helper?.close();
    },
    async open(readonly) {
      const fh = await open(path!, readonly ? 'r' : 'r+').catch(
        async (err: NodeJS.ErrnoException) => {
          if (!readonly && (err.code === 'EACCES' || err.code === 'EROFS')) return open(path!, 'r');
          throw err;
        },
      );
      const st = await fh.stat();
      const size = st.isBlockDevice() ? await blockDeviceSize(st.rdev) : st.size;
      return { fh, size };
    },
    async close(h) {
      await h.fh.close();
    },
    getSize: (h) => h.size,
    canMultiConn: () => true,
    canCache: () => 'emulate',
    async canWrite(h) {
      try {
        await h.fh.write(Buffer.alloc(0), 0, 0, 0);
        return true;
      } catch {
        return false;
      }
    },
    pread: (h, buf, offset) => readFully(h.fh, buf, offset),
    pwrite: (h, buf, offset) => writeFully(h.fh, buf, offset),
    async flush(h) {
      await h.fh.datasync();
    },
    async trim(_h, count, offset) {
      // Advisory: when no hole can be punched, leaving the data is correct.
      await punch(count, offset);
    },
    async zero(h, count, offset, flags) {
      if (flags.mayTrim && (await punch(count, offset))) return;
      // NO_HOLE: the range must stay allocated; ZERO_RANGE keeps it so (as nbdkit does).
      if (!isBlockDevice && helper && (await helper.zeroRange(offset, count))) return;
      if (flags.fastZero) throw new NbdError('ENOTSUP', 'cannot zero this range quickly');
      const zeroes = Buffer.alloc(Math.min(ZERO_CHUNK, count));
      for (let done = 0; done < count;) {
        const n = Math.min(zeroes.length, count - done);
        await writeFully(h.fh, zeroes.subarray(0, n), offset + done);
        done += n;
      }
    },
    canExtents: () => !isBlockDevice,
    async extents(h, count, offset) {
      const end = Math.min(offset + count, h.size);
      const out: Extent[] = [];
      let at = offset;
      for (let step = 0; at < end && step < MAX_SEEK_STEPS; step++) {
        const found = await helper?.seek(at);
        if (!found) {
          if (out.length === 0) return [{ offset, length: count, type: ExtentType.DATA }];
          break;
        }
        const [data, hole] = found;
        const holeEnd = data < 0 ? end : Math.min(data, end);
        if (holeEnd > at)
          out.push({ offset: at, length: holeEnd - at, type: ExtentType.HOLE_ZERO });
        if (data < 0 || data >= end) break;
        const dataEnd = hole < 0 ? end : Math.min(hole, end);
        out.push({ offset: data, length: dataEnd - data, type: ExtentType.DATA });
        at = dataEnd;
      }
      return out;
    },
  });
}
