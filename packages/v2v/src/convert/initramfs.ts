/**
 * Reads the file list of a Linux initramfs on the host, without running anything in the
 * guest: what the "rebuild only when needed" decision stands on. An initramfs is one or more
 * cpio archives (newc format) one after another, each either plain or compressed; Debian's
 * are often an uncompressed early archive (CPU microcode) followed by a compressed main one,
 * and dracut's the same. Plain archives are parsed in place; the first compressed part is
 * decompressed (gzip with Node's zlib; zstd, xz, lzma, bzip2, lz4 and lzop with the host's
 * own tool) and the cpio archives inside it are listed as they stream by.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { V2vError } from '../errors.js';

export interface InitramfsListing {
  /** Every path in the archives (without a leading "./" or "/"). */
  readonly files: readonly string[];
  /** What it is made of, for the user: "uncompressed cpio (12 files) + zstd cpio (1850 files)". */
  readonly parts: readonly string[];
}

const HEADER = 110;
const TRAILER = 'TRAILER!!!';

/** A streaming parser of newc cpio archives, one after another (with zero padding between). */
export class CpioLister {
  readonly files: string[] = [];
  /** Entries of each archive seen so far. */
  readonly archives: number[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private skip = 0;
  private inArchive = false;

  push(chunk: Buffer): void {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.parse();
  }

  private parse(): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buffer.length);
        this.skip -= n;
        this.buffer = this.buffer.subarray(n);
        if (this.skip > 0) return;
      }
      if (!this.inArchive) {
        // Zero padding between archives.
        let i = 0;
        while (i < this.buffer.length && this.buffer[i] === 0) i++;
        this.buffer = this.buffer.subarray(i);
      }
      if (this.buffer.length < HEADER) return;
      const magic = this.buffer.toString('latin1', 0, 6);
      if (magic !== '070701' && magic !== '070702')
        throw new Error(`not a newc cpio header (magic ${JSON.stringify(magic)})`);
      const hex = (i: number) =>
        parseInt(this.buffer.toString('latin1', 6 + i * 8, 14 + i * 8), 16);
      const fileSize = hex(6);
      const nameSize = hex(11);
      const nameEnd = HEADER + nameSize;
      const dataStart = (nameEnd + 3) & ~3;
      if (this.buffer.length < dataStart) return;
      const name = this.buffer.toString('utf8', HEADER, nameEnd - 1);
      if (!this.inArchive) {
        this.inArchive = true;
        this.archives.push(0);
      }
      this.buffer = this.buffer.subarray(dataStart);
      this.skip = (fileSize + 3) & ~3;
      if (name === TRAILER) {
        this.inArchive = false;
        continue;
      }
      this.archives[this.archives.length - 1]!++;
      this.files.push(name.replace(/^\.?\//, ''));
    }
  }
}

type Compression = 'gzip' | 'zstd' | 'xz' | 'lzma' | 'bzip2' | 'lz4' | 'lzop';

export function compressionOf(head: Buffer): Compression | null {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x5d, 0x00, 0x00)) return 'lzma';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0x02, 0x21, 0x4c, 0x18) || starts(0x04, 0x22, 0x4d, 0x18)) return 'lz4';
  if (starts(0x89, 0x4c, 0x5a, 0x4f)) return 'lzop';
  return null;
}

const TOOLS: Record<Exclude<Compression, 'gzip'>, [string, string]> = {
  zstd: ['zstd', 'zstd'],
  xz: ['xz', 'xz-utils'],
  lzma: ['xz', 'xz-utils'],
  bzip2: ['bzip2', 'bzip2'],
  lz4: ['lz4', 'lz4'],
  lzop: ['lzop', 'lzop'],
};

/** Decompresses `data` and feeds it to the lister. */
async function listCompressed(data: Buffer, kind: Compression, lister: CpioLister): Promise<void> {
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    Readable.from([data]).pipe(gunzip);
    for await (const chunk of gunzip) lister.push(chunk as Buffer);
    return;
  }
  const [tool, pkg] = TOOLS[kind];
  const child = spawn(tool, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('close', (code) => resolve(code ?? 'killed'));
  });
  child.stdin.on('error', () => undefined); // the tool may stop reading after trailing garbage
  child.stdin.end(data);
  for await (const chunk of child.stdout) lister.push(chunk as Buffer);
  const status = await exited;
  if (typeof status === 'string' && /ENOENT/.test(status))
    throw new V2vError(
      'TOOL_MISSING',
      `${tool} is needed to read a ${kind} initramfs (Debian package ${pkg})`,
    );
  // Trailing zero padding after the compressed stream makes some tools complain: what
  // matters is that the archives were read to their end.
  if (status !== 0 && lister.archives.length === 0)
    throw new Error(`${tool} -dc failed: ${stderr.trim() || `status ${status}`}`);
}

/** Lists an initramfs image (a file on the host). */
export async function listInitramfs(path: string): Promise<InitramfsListing> {
  const data = await readFile(path);
  const lister = new CpioLister();
  const parts: string[] = [];
  let at = 0;
  while (at < data.length) {
    while (at < data.length && data[at] === 0) at++;
    if (at >= data.length) break;
    const kind = compressionOf(data.subarray(at, at + 8));
    const before = lister.archives.length;
    const filesBefore = lister.files.length;
    if (kind === null) {
      // A plain archive (e.g. the early microcode one): list it, go on after its trailer.
      const length = plainArchiveLength(data, at);
      lister.push(data.subarray(at, at + length));
      parts.push(`uncompressed cpio (${lister.files.length - filesBefore} files)`);
      at += length;
      continue;
    }
    await listCompressed(data.subarray(at), kind, lister);
    parts.push(
      `${kind} cpio${lister.archives.length - before > 1 ? ` x${lister.archives.length - before}` : ''} (${lister.files.length - filesBefore} files)`,
    );
    break; // the compressed stream runs to the end of the file
  }
  if (parts.length === 0) throw new Error(`${path}: empty initramfs`);
  return { files: lister.files, parts };
}

/** The length of the plain cpio archive at `start`, through its trailer (4-byte aligned). */
function plainArchiveLength(data: Buffer, start: number): number {
  let at = start;
  for (;;) {
    const magic = data.toString('latin1', at, at + 6);
    if (magic !== '070701' && magic !== '070702')
      throw new Error(`not a newc cpio header at offset ${at}`);
    if (at + HEADER > data.length) throw new Error('truncated cpio archive');
    const hex = (i: number) =>
      parseInt(data.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const fileSize = hex(6);
    const nameSize = hex(11);
    const name = data.toString('utf8', at + HEADER, at + HEADER + nameSize - 1);
    const dataStart = (at + HEADER + nameSize + 3) & ~3;
    at = (dataStart + fileSize + 3) & ~3;
    if (name === TRAILER) return at - start;
  }
}
