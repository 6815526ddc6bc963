// Local files as sparse streams: the chunks read from a sparse file, and a file written back
// from them, with its holes still holes.
import assert from 'node:assert/strict';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { StreamHole, readSparseFile, writeSparseFile } from '../../src/index.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'libvirt-sparse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 16 MiB with data at [1, 2) and [8, 8.5) MiB: a hole first, between, and last. */
function sparseFile(): string {
  const path = join(dir, 'source.raw');
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.alloc(MiB, 0x11), 0, MiB, MiB);
  writeSync(fd, Buffer.alloc(MiB / 2, 0x22), 0, MiB / 2, 8 * MiB);
  ftruncateSync(fd, 16 * MiB);
  closeSync(fd);
  return path;
}

async function chunksOf(path: string): Promise<(Buffer | StreamHole)[]> {
  const out: (Buffer | StreamHole)[] = [];
  for await (const c of readSparseFile(path)) out.push(c as Buffer | StreamHole);
  return out;
}

void describe('readSparseFile and writeSparseFile', () => {
  void it('reads the data and only the lengths of the holes', async () => {
    const chunks = await chunksOf(sparseFile());
    const shape = chunks.map((c) =>
      c instanceof StreamHole ? `hole ${c.length}` : `data ${c.byteLength}`,
    );
    assert.deepEqual(shape, [
      `hole ${MiB}`,
      `data ${MiB}`,
      `hole ${6 * MiB}`,
      `data ${MiB / 2}`,
      `hole ${7.5 * MiB}`,
    ]);
  });

  void it('writes a file with the same bytes and the same holes', async () => {
    const source = sparseFile();
    const copy = join(dir, 'copy.raw');
    await pipeline(readSparseFile(source), writeSparseFile(copy));
    assert.ok(readFileSync(copy).equals(readFileSync(source)));
    assert.equal(statSync(copy).size, 16 * MiB);
    assert.ok(statSync(copy).blocks * 512 <= 2 * MiB, `${statSync(copy).blocks} blocks allocated`);
  });

  void it('a file without holes is all data, in bounded chunks', async () => {
    const path = join(dir, 'full.raw');
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.alloc(3 * MiB + 5, 0x33));
    closeSync(fd);
    const chunks = await chunksOf(path);
    assert.ok(chunks.every((c) => Buffer.isBuffer(c) && c.byteLength <= MiB));
    assert.equal(
      chunks.reduce((n, c) => n + (c as Buffer).byteLength, 0),
      3 * MiB + 5,
    );
  });

  void it('a missing file is an error of the stream, not a crash', async () => {
    await assert.rejects(
      pipeline(readSparseFile(join(dir, 'absent.raw')), writeSparseFile(join(dir, 'out.raw'))),
      /ENOENT/,
    );
  });
});
