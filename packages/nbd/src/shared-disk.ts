// A sparse disk in RAM that every worker process of the server shares (the memory and data
// plugins). Its bytes live in an unlinked file on tmpfs (/dev/shm): pages are allocated on
// first write, read as zeroes until then, and every process reads and writes the same ones,
// so a write is seen by every connection as soon as it is done. Beside it, a second file
// holds one byte per 32 KiB page (nbdkit's page size, so that maps match nbdkit's): 1 when
// the page was written, 0 when it was never written or was trimmed.
//
// Consistency between processes without locks: a write stores its data, then marks its
// pages; a trim unmarks the pages, then punches the data. So a page is unmarked only if it
// reads as zeroes or a write to it is still in flight: block status never calls data a hole.
import { existsSync, read, readSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ExtentType, type Extent } from './api.js';
import { FileHoles } from '@tsvirt/file-holes';
import { sharedFile } from './shared.js';

export const PAGE_SIZE = 32 * 1024;
/** Larger transfers are copied by libuv's thread pool, beside the event loop. */
const SYNC_LIMIT = 64 * 1024;
/** The page map is read and written this many pages (bytes) at a time (2 GiB of disk). */
const MAP_CHUNK = 64 * 1024;
/** Block status looks at this many pages at most per call (32 GiB of disk). */
const MAX_MAP_READ = 1 << 20;
const ZEROES = Buffer.alloc(PAGE_SIZE);
const MARKED = Buffer.alloc(MAP_CHUNK, 1);
const UNMARKED = Buffer.alloc(MAP_CHUNK, 0);

/** tmpfs when there is one (RAM, as nbdkit's memory plugin), else the temporary directory. */
function ramDirectory(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

function readAtSync(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length;) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) {
      buf.fill(0, done); // past the end of the file: never written
      return;
    }
    done += n;
  }
}

function writeAtSync(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length;) {
    done += writeSync(fd, buf, done, buf.length - done, position + done);
  }
}

function readAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      read(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) reject(err);
        else if (n === 0) resolve(void buf.fill(0, done));
        else if (done + n < buf.length) step(done + n);
        else resolve();
      });
    };
    step(0);
  });
}

function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) reject(err);
        else if (done + n < buf.length) step(done + n);
        else resolve();
      });
    };
    step(0);
  });
}

export class SharedDisk {
  private readonly data: number;
  private readonly map: number;
  private holes: FileHoles | undefined;

  /** `init` fills a new disk; a worker that inherits the disk does not run it. */
  constructor(label: string, init?: (disk: SharedDisk) => void) {
    const dir = ramDirectory();
    const data = sharedFile(`${label}-data`, dir);
    this.data = data.fd;
    this.map = sharedFile(`${label}-map`, dir).fd;
    if (data.created) init?.(this);
  }

  /** Fills all of `buf` with the bytes at `offset`. */
  read(buf: Buffer, offset: number): void | Promise<void> {
    if (buf.length <= SYNC_LIMIT) readAtSync(this.data, buf, offset);
    else return readAt(this.data, buf, offset);
  }

  /** Writes all of `buf` at `offset`. */
  write(buf: Buffer, offset: number): void | Promise<void> {
    if (buf.length <= SYNC_LIMIT) this.writeSync(buf, offset);
    else return writeAt(this.data, buf, offset).then(() => this.mark(buf.length, offset));
  }

  /** Writes all of `buf` at `offset` before returning. */
  writeSync(buf: Buffer, offset: number): void {
    writeAtSync(this.data, buf, offset);
    this.mark(buf.length, offset);
  }

  private mark(count: number, offset: number): void {
    const first = Math.floor(offset / PAGE_SIZE);
    this.setMarks(first, Math.ceil((offset + count) / PAGE_SIZE), MARKED);
  }

  /** Sets the map bytes of pages [first, end) from `marks` (all 1 or all 0). */
  private setMarks(first: number, end: number, marks: Buffer): void {
    for (let page = first; page < end; page += MAP_CHUNK) {
      writeAtSync(this.map, marks.subarray(0, Math.min(MAP_CHUNK, end - page)), page);
    }
  }

  /** The runs [first, end) of marked pages in [from, to). */
  private markedRuns(from: number, to: number): [number, number][] {
    const runs: [number, number][] = [];
    const marks = Buffer.allocUnsafe(Math.min(MAP_CHUNK, to - from));
    for (let base = from; base < to; base += marks.length) {
      const chunk = marks.subarray(0, Math.min(marks.length, to - base));
      readAtSync(this.map, chunk, base);
      for (let i = chunk.indexOf(1); i >= 0 && i < chunk.length;) {
        let j = chunk.indexOf(0, i);
        if (j < 0) j = chunk.length;
        const last = runs[runs.length - 1];
        if (last && last[1] === base + i) last[1] = base + j;
        else runs.push([base + i, base + j]);
        i = chunk.indexOf(1, j);
      }
    }
    return runs;
  }

  /** Makes the range read as zeroes; whole pages give their memory back. */
  async zero(count: number, offset: number): Promise<void> {
    const end = offset + count;
    const firstWhole = Math.ceil(offset / PAGE_SIZE);
    const endWhole = Math.floor(end / PAGE_SIZE);
    if (firstWhole >= endWhole) {
      this.writeZeroes(offset, end);
      return;
    }
    this.writeZeroes(offset, firstWhole * PAGE_SIZE);
    this.writeZeroes(endWhole * PAGE_SIZE, end);
    const written = this.markedRuns(firstWhole, endWhole);
    this.setMarks(firstWhole, endWhole, UNMARKED);
    const start = firstWhole * PAGE_SIZE;
    this.holes ??= FileHoles.forFd(this.data);
    if (await this.holes.punchHole(start, (endWhole - firstWhole) * PAGE_SIZE)) return;
    // No hole punching here: zero what was written (the rest reads as zeroes already).
    for (const [s, e] of written) this.writeZeroes(s * PAGE_SIZE, e * PAGE_SIZE);
  }

  /** Writes zeroes over [from, to) (parts of pages: their pages stay allocated). */
  private writeZeroes(from: number, to: number): void {
    for (let at = from; at < to; at += ZEROES.length) {
      writeAtSync(this.data, ZEROES.subarray(0, Math.min(ZEROES.length, to - at)), at);
    }
  }

  /** Written pages are data, the others holes that read as zeroes (may end early). */
  extents(count: number, offset: number): Extent[] {
    const first = Math.floor(offset / PAGE_SIZE);
    const end = Math.min(Math.ceil((offset + count) / PAGE_SIZE), first + MAX_MAP_READ);
    const marks = Buffer.allocUnsafe(end - first);
    readAtSync(this.map, marks, first);
    const out: Extent[] = [];
    for (let i = 0; i < marks.length;) {
      const marked = marks[i];
      let j = i + 1;
      while (j < marks.length && marks[j] === marked) j++;
      const from = Math.max(offset, (first + i) * PAGE_SIZE);
      const to = Math.min(offset + count, (first + j) * PAGE_SIZE);
      out.push({
        offset: from,
        length: to - from,
        type: marked ? ExtentType.DATA : ExtentType.HOLE_ZERO,
      });
      i = j;
    }
    return out;
  }

  /** Stops the hole-punching helper (the files go when the last process closes them). */
  close(): void {
    this.holes?.close();
  }
}
