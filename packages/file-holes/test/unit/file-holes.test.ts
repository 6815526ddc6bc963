import assert from 'node:assert/strict';
import {
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileHoles } from '../../src/index.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'file-holes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 8 MiB: data at [0, 1 MiB) and [4 MiB, 5 MiB), holes elsewhere. */
function sparseFile(name: string): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.alloc(MiB, 1), 0, MiB, 0);
  writeSync(fd, Buffer.alloc(MiB, 2), 0, MiB, 4 * MiB);
  ftruncateSync(fd, 8 * MiB);
  closeSync(fd);
  return path;
}

void describe('FileHoles', () => {
  void it('finds the data and the holes of a sparse file', async () => {
    const holes = FileHoles.forPath(sparseFile('seek'));
    try {
      assert.deepEqual(await holes.seek(0), [0, MiB]);
      assert.deepEqual(await holes.seek(MiB), [4 * MiB, 5 * MiB]);
      assert.deepEqual(await holes.seek(5 * MiB), [-1, -1]);
    } finally {
      holes.close();
    }
  });

  void it('punches a hole that reads back as zeroes', async () => {
    const path = sparseFile('punch');
    const fd = openSync(path, 'r+');
    const holes = FileHoles.forFd(fd);
    try {
      assert.equal(await holes.punchHole(0, MiB), true);
      assert.deepEqual(await holes.seek(0), [4 * MiB, 5 * MiB]);
    } finally {
      holes.close();
      closeSync(fd);
    }
    assert.ok(
      readFileSync(path)
        .subarray(0, MiB)
        .every((b) => b === 0),
    );
  });
});
