// partition: serves one partition of a disk with an MBR or GPT partition table
// (nbdkit-partition-filter). MBR partitions 1-4 are primary, 5 and up are logical ones in
// the extended partition; sectors are 512 bytes.
import { defineFilter, type Next } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { parseInteger } from '../size.js';
import { ownKeys, shiftExtents } from './common.js';

const SECTOR = 512;

interface Range {
  offset: number;
  length: number;
}

async function readSectors(next: Next, lba: number, count: number): Promise<Buffer> {
  const buf = Buffer.alloc(count * SECTOR);
  await next.pread(buf, lba * SECTOR);
  return buf;
}

async function gptPartition(next: Next, wanted: number): Promise<Range> {
  const header = await readSectors(next, 1, 1);
  if (header.toString('latin1', 0, 8) !== 'EFI PART')
    throw new NbdError('EIO', 'partition: bad GPT header');
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (wanted > count || entrySize < 128)
    throw new NbdError('EIO', `partition: GPT has no partition ${wanted}`);
  const at = (wanted - 1) * entrySize;
  const sector = Math.floor(at / SECTOR);
  const entries = await readSectors(
    next,
    entriesLba + sector,
    Math.ceil(((at % SECTOR) + entrySize) / SECTOR),
  );
  const entry = entries.subarray(at % SECTOR, (at % SECTOR) + entrySize);
  if (entry.subarray(0, 16).every((b) => b === 0))
    throw new NbdError('EIO', `partition: GPT partition ${wanted} is unused`);
  const first = entry.readUInt32LE(32) + entry.readUInt32LE(36) * 2 ** 32;
  const last = entry.readUInt32LE(40) + entry.readUInt32LE(44) * 2 ** 32;
  return { offset: first * SECTOR, length: (last - first + 1) * SECTOR };
}

function mbrEntry(sector: Buffer, index: number) {
  const e = 446 + 16 * index;
  return {
    type: sector[e + 4]!,
    start: sector.readUInt32LE(e + 8),
    sectors: sector.readUInt32LE(e + 12),
  };
}

const EXTENDED = new Set([0x05, 0x0f, 0x85]);

async function mbrPartition(next: Next, mbr: Buffer, wanted: number): Promise<Range> {
  if (wanted <= 4) {
    const p = mbrEntry(mbr, wanted - 1);
    if (p.type === 0 || p.sectors === 0)
      throw new NbdError('EIO', `partition: MBR partition ${wanted} is unused`);
    return { offset: p.start * SECTOR, length: p.sectors * SECTOR };
  }
  const extended = [0, 1, 2, 3].map((i) => mbrEntry(mbr, i)).find((p) => EXTENDED.has(p.type));
  if (!extended)
    throw new NbdError('EIO', `partition: no extended partition for logical partition ${wanted}`);
  let ebrLba = extended.start;
  for (let n = 5; n < 5 + 128; n++) {
    const ebr = await readSectors(next, ebrLba, 1);
    if (ebr.readUInt16LE(510) !== 0xaa55) break;
    const logical = mbrEntry(ebr, 0);
    if (n === wanted)
      return { offset: (ebrLba + logical.start) * SECTOR, length: logical.sectors * SECTOR };
    const link = mbrEntry(ebr, 1);
    if (link.type === 0) break;
    ebrLba = extended.start + link.start;
  }
  throw new NbdError('EIO', `partition: no logical partition ${wanted}`);
}

export function createPartitionFilter() {
  let wanted: number | undefined;
  return defineFilter<Range>({
    name: 'partition',
    threadModel: 'multiProcess',
    description: 'Serve one partition of an MBR or GPT disk.',
    keys: [{ key: 'partition=N', help: 'Partition number, from 1 (required).' }],
    config: ownKeys({ partition: (v) => (wanted = parseInteger(v, 'partition', 1)) }),
    configComplete() {
      if (wanted === undefined) throw new ConfigError('partition: partition= is required');
    },
    async open(next, readonly, exportName) {
      await next(readonly, exportName);
      return { offset: 0, length: 0 };
    },
    async prepare(next, h) {
      const mbr = await readSectors(next, 0, 1);
      if (mbr.readUInt16LE(510) !== 0xaa55)
        throw new NbdError('EIO', 'partition: no partition table');
      const range =
        mbrEntry(mbr, 0).type === 0xee
          ? await gptPartition(next, wanted!)
          : await mbrPartition(next, mbr, wanted!);
      if (range.offset + range.length > (await next.getSize())) {
        throw new NbdError('EIO', `partition: partition ${wanted} ends past the end of the disk`);
      }
      Object.assign(h, range);
    },
    getSize: (_next, h) => h.length,
    pread: (next, h, buf, at) => next.pread(buf, at + h.offset),
    pwrite: (next, h, buf, at, flags) => next.pwrite(buf, at + h.offset, flags),
    trim: (next, h, count, at, flags) => next.trim(count, at + h.offset, flags),
    zero: (next, h, count, at, flags) => next.zero(count, at + h.offset, flags),
    cache: (next, h, count, at) => next.cache(count, at + h.offset),
    async extents(next, h, count, at, flags) {
      return shiftExtents(await next.extents(count, at + h.offset, flags), -h.offset);
    },
  });
}
