// What the TypeScript layer refuses, and the faults: a freed string, strings of two heaps, an
// inner \0 in a checked legacy call, a full heap, a stdout that cannot be written.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Heap,
  Ilenstr,
  IlenstrError,
  defaultHeap,
  legacy,
  legacyUnchecked,
  type LegacyName,
} from '../../src/index.js';
import { assertLayout, assertNoLeak } from '../support/heap.js';

function refused(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof IlenstrError, `expected an IlenstrError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

void describe('Ilenstr', () => {
  void it('works on the default heap, and on the same one each time', () => {
    const s = Ilenstr.from('hello, world');
    assert.equal(s.heap, defaultHeap());
    assert.equal(s.length, 12);
    assert.equal(s.toString(), 'hello, world');
    assert.equal(s.append('!').toString(), 'hello, world!');
    s.free();
  });

  void it('counts UTF-8 bytes, not UTF-16 units as a JavaScript string does', () => {
    const s = Ilenstr.from('né ☃');
    assert.equal(s.length, 7);
    assert.equal('né ☃'.length, 4);
    s.free();
  });

  void it('refuses every use of a freed string, a second free included', () => {
    const heap = new Heap();
    const other = Ilenstr.from('other', heap);
    const s = Ilenstr.from('gone', heap);
    s.free();
    assert.equal(s.freed, true);
    const uses: [string, () => unknown][] = [
      ['length', () => s.length],
      ['spareBytes', () => s.spareBytes],
      ['bytes', () => s.bytes()],
      ['toString', () => s.toString()],
      ['append', () => s.append('x')],
      ['append it elsewhere', () => other.append(s)],
      ['concat', () => other.concat(s)],
      ['compare', () => other.compare(s)],
      ['equals', () => other.equals(s)],
      ['dup', () => s.dup()],
      ['legacy', () => legacy('strlen', s)],
      ['legacyUnchecked', () => legacyUnchecked('printf', s)],
      ['free', () => s.free()],
    ];
    assertNoLeak(heap, () => {
      for (const [what, use] of uses) {
        assert.throws(use, { code: 'ILENSTR_FREED' }, what);
      }
    });
    refused(() => s.length, 'ILENSTR_FREED', /was freed.*dup\(\)/);
    assertLayout(other, Buffer.from('other')); // the heap is intact
    other.free();
    assert.deepEqual(heap.stats().liveBlocks, 0);
  });

  void it('refuses to mix strings of two heaps', () => {
    const a = Ilenstr.from('a', new Heap());
    const b = Ilenstr.from('b', new Heap());
    refused(() => a.append(b), 'ILENSTR_OTHER_HEAP', /two different C heaps/);
    refused(() => a.concat(b), 'ILENSTR_OTHER_HEAP', /two different C heaps/);
    refused(() => a.equals(b), 'ILENSTR_OTHER_HEAP', /two different C heaps/);
    const longer = Ilenstr.from('bb', b.heap);
    refused(() => a.equals(longer), 'ILENSTR_OTHER_HEAP', /two different C heaps/);
    longer.free();
    refused(() => legacy('strcmp', a, b), 'ILENSTR_OTHER_HEAP', /different C heaps/);
    assert.equal(a.heap.stats().liveBlocks, 1, 'the failed concat freed its partial result');
    const copied = Ilenstr.from(b.bytes(), a.heap);
    assert.equal(a.append(copied).toString(), 'ab');
    for (const s of [a, b, copied]) s.free();
  });

  void it('heap statistics see a string that was not freed', () => {
    const heap = new Heap();
    const before = heap.stats();
    const s = Ilenstr.from('kept', heap);
    const during = heap.stats();
    assert.equal(during.liveBlocks, before.liveBlocks + 1);
    assert.equal(during.liveBytes, before.liveBytes + heap.c.malloc_usable_size(s.address));
    s.free();
    assert.deepEqual(heap.stats(), before);
  });
});

void describe('legacy', () => {
  void it('the checked call says which argument has a \\0 and where', () => {
    const heap = new Heap();
    const admin = Ilenstr.from('admin', heap);
    const forged = Ilenstr.from('admin\0--but-not-really', heap);
    // The seed's warning: to char * code, the forged string is "admin".
    assert.equal(legacyUnchecked('strcmp', forged, admin), 0);
    assert.equal(forged.equals(admin), false);
    refused(
      () => legacy('strcmp', admin, forged),
      'ILENSTR_INNER_NUL',
      /^legacy strcmp: argument 2 has a \\0 at byte 5 of 22, .*legacyUnchecked/,
    );
    admin.free();
    forged.free();
  });

  void it('refuses unknown functions and wrong argument counts from untyped callers', () => {
    const s = Ilenstr.from('x');
    const untyped = legacy as (name: LegacyName, ...args: Ilenstr[]) => unknown;
    refused(
      () => untyped('system' as LegacyName, s),
      'ILENSTR_BAD_CALL',
      /no legacy function system; there are strlen/,
    );
    refused(() => untyped('strcmp', s), 'ILENSTR_BAD_CALL', /strcmp takes 2 string\(s\), got 1/);
    refused(() => untyped('toString' as LegacyName, s), 'ILENSTR_BAD_CALL', /no legacy/);
    // @ts-expect-error strcmp takes two strings
    assert.throws(() => legacy('strcmp', s), { code: 'ILENSTR_BAD_CALL' });
    s.free();
  });

  void it('printf writes through WASI to the heap stdout, and reports a failed write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ilenstr-test-'));
    const path = join(dir, 'out');
    writeFileSync(path, '');
    const readOnly = openSync(path, 'r');
    try {
      const heap = new Heap({ stdout: readOnly });
      const s = Ilenstr.from('lost', heap);
      refused(
        () => legacy('printf', s),
        'ILENSTR_IO',
        /printf: writing to the C stdout \(file descriptor \d+\) failed/,
      );
      s.free();
    } finally {
      closeSync(readOnly);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('a full heap', () => {
  const MiB = 1 << 20;

  void it('refuses an allocation that does not fit and stays usable', () => {
    const heap = new Heap({ maxMemoryBytes: 2 * MiB });
    assertNoLeak(heap, () => {
      refused(
        () => Ilenstr.from(new Uint8Array(3 * MiB), heap),
        'ILENSTR_OUT_OF_MEMORY',
        /out of memory allocating a string of 3145728 bytes: .* may grow to 2097152 bytes \(maxMemoryBytes\)/,
      );
      const s = Ilenstr.from(new Uint8Array(MiB).fill(1), heap);
      assert.equal(s.length, MiB);
      s.free();
    });
  });

  void it('a failed append leaves the string as it was, and concat frees its partial copy', () => {
    const heap = new Heap({ maxMemoryBytes: 2 * MiB });
    const half = new Uint8Array(600 * 1024).fill(7);
    const s = Ilenstr.from(half, heap).append(half); // 1.2 MiB: one more copy will not fit
    assertNoLeak(heap, () => {
      refused(
        () => s.append(s),
        'ILENSTR_OUT_OF_MEMORY',
        /^out of memory appending 1228800 bytes to a string of 1228800: the C heap has 1228812 bytes in use/,
      );
    });
    assertLayout(s, Buffer.concat([half, half]));
    assertNoLeak(heap, () => {
      refused(() => s.concat(s), 'ILENSTR_OUT_OF_MEMORY', /out of memory/);
    });
    s.free();
    assert.equal(heap.stats().liveBlocks, 0);
  });

  void it('maxMemoryBytes is checked', () => {
    assert.throws(
      () => new Heap({ maxMemoryBytes: 1000 }),
      /maxMemoryBytes must be between 131072 and 4294967296/,
    );
    assert.throws(() => new Heap({ maxMemoryBytes: 2 ** 33 }), RangeError);
  });
});
