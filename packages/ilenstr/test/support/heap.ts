// Reading an ilenstr's allocation from outside, as the layout in c/ilenstr.h describes it,
// without the C decoder: what the tests check the C code against.
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Heap, type Ilenstr } from '../../src/index.js';

export interface Layout {
  usable: number;
  spare: number;
  length: number;
}

/** Decodes the spare count from the raw bytes at the end of the allocation. */
export function readLayout(s: Ilenstr): Layout {
  const address = s.address;
  const usable = s.heap.c.malloc_usable_size(address);
  const memory = s.heap.bytes();
  const last = memory[address + usable - 1] ?? assert.fail('allocation outside memory');
  const spare =
    last === 255 ? new DataView(memory.buffer).getUint32(address + usable - 5, true) : last;
  return { usable, spare, length: usable - 1 - spare };
}

/** Checks the layout against what the C functions say and against the expected contents. */
export function assertLayout(s: Ilenstr, contents: Uint8Array): Layout {
  const layout = readLayout(s);
  assert.equal(layout.length, contents.length, 'length decoded from the raw bytes');
  assert.equal(s.length, contents.length, 'ilenstr_len');
  assert.equal(s.spareBytes, layout.spare, 'ilenstr_spare');
  assert.equal(s.heap.bytes()[s.address + contents.length], 0, 'the terminating \\0');
  assert.deepEqual(s.bytes(), Uint8Array.from(contents));
  return layout;
}

/** The bytes up to the first \0: what a char * function sees. */
export function prefix(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/** A heap whose C stdout is a temporary file, and what was written to it since last asked. */
export function heapWithCapturedStdout(): {
  heap: Heap;
  takeOutput(): Buffer;
  close(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'ilenstr-test-'));
  const path = join(dir, 'stdout');
  const fd = openSync(path, 'w+');
  let taken = 0;
  return {
    heap: new Heap({ stdout: fd }),
    takeOutput() {
      const chunk = Buffer.alloc(1 << 16);
      const parts: Buffer[] = [];
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, taken)) > 0; taken += n) {
        parts.push(Buffer.from(chunk.subarray(0, n)));
      }
      return Buffer.concat(parts);
    },
    close() {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts that nothing allocated during `body` is still live afterwards. */
export function assertNoLeak(heap: Heap, body: () => void): void {
  const { liveBlocks, liveBytes } = heap.stats();
  body();
  const after = heap.stats();
  assert.deepEqual(
    { liveBlocks: after.liveBlocks, liveBytes: after.liveBytes },
    { liveBlocks, liveBytes },
    'heap statistics before and after',
  );
}
