// Property tests on a real C heap: the O(1) length against the true length, for random
// contents with and without inner \0 and for every spare-byte count, what legacy char *
// functions see, and heap statistics before and after.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Heap, Ilenstr, legacy, legacyUnchecked } from '../../src/index.js';
import {
  assertLayout,
  assertNoLeak,
  heapWithCapturedStdout,
  prefix,
  readLayout,
} from '../support/heap.js';

const heap = new Heap();

const noNul = fc.uint8Array({ min: 1, max: 255, maxLength: 700 });
/** Bytes with one to five \0 inserted anywhere, first and last positions included. */
const withNul = fc
  .tuple(noNul, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }))
  .map(([bytes, positions]) => {
    const out = Array.from(bytes);
    for (const p of positions) out.splice(p % (out.length + 1), 0, 0);
    return Uint8Array.from(out);
  });
const contents = fc.oneof(noNul, withNul);

const filled = (length: number): Uint8Array => new Uint8Array(length).fill(0x61);

void describe('the O(1) length equals the true length', () => {
  void it('for random contents, with and without inner \\0', () => {
    assertNoLeak(heap, () => {
      fc.assert(
        fc.property(contents, (bytes) => {
          const s = Ilenstr.from(bytes, heap);
          assertLayout(s, bytes);
          s.free();
        }),
        { numRuns: 500 },
      );
    });
  });

  void it('for random Unicode strings (UTF-8 bytes), which toString gives back', () => {
    assertNoLeak(heap, () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
          const s = Ilenstr.from(text, heap);
          assertLayout(s, Buffer.from(text, 'utf8'));
          assert.equal(s.toString(), text);
          s.free();
        }),
      );
    });
  });

  void it('for every spare-byte count malloc gives an exact request: 0 to 15', () => {
    // wasi-libc's dlmalloc on wasm32: chunks are multiples of 16 bytes with a 4-byte header,
    // so asking for len + 1 bytes leaves 0 to 15 spare (11 for the empty string).
    const seen = new Set<number>();
    assertNoLeak(heap, () => {
      for (let length = 0; length <= 4096; length++) {
        const s = Ilenstr.from(filled(length), heap);
        const copy = s.dup();
        seen.add(assertLayout(s, filled(length)).spare);
        assert.equal(assertLayout(copy, filled(length)).spare, s.spareBytes, 'dup is exact too');
        s.free();
        copy.free();
      }
    });
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 16 }, (_, i) => i),
    );
  });

  void it('for every spare-byte count an append leaves, past the one-byte limit', () => {
    // Appending past the usable size reallocs to 1.5 times it: appending one byte more each
    // time past the end of a 1000-byte string walks the spare count from about 500 down to 0,
    // the escaped counts (255 and more: a size_t before a final 255) included.
    const base = filled(1000);
    const probe = Ilenstr.from(base, heap);
    const { usable } = readLayout(probe);
    probe.free();
    const seen = new Set<number>();
    assertNoLeak(heap, () => {
      for (let tail = usable - base.length; tail <= usable / 2 + 16; tail++) {
        const s = Ilenstr.from(base, heap).append(filled(tail));
        seen.add(assertLayout(s, filled(base.length + tail)).spare);
        s.free();
      }
    });
    const most = Math.max(...seen);
    assert.ok(most > 300, `spare counts up to ${most}`);
    for (let spare = 0; spare <= most; spare++) assert.ok(seen.has(spare), `spare ${spare} seen`);
  });
});

void describe('appending', () => {
  void it('keeps the length right through random appends, in place and by realloc', () => {
    assertNoLeak(heap, () => {
      fc.assert(
        fc.property(contents, fc.array(contents, { maxLength: 20 }), (first, tails) => {
          const s = Ilenstr.from(first, heap);
          let expected = first;
          for (const tail of tails) {
            s.append(tail);
            expected = Buffer.concat([expected, tail]);
            assertLayout(s, expected);
          }
          s.free();
        }),
      );
    });
  });

  void it('appends a string to itself, also when that moves it', () => {
    assertNoLeak(heap, () => {
      const s = Ilenstr.from('ab\0c', heap);
      const moved = Ilenstr.from('x', heap); // allocated right after s: s cannot grow in place
      let expected = Buffer.from('ab\0c');
      const addresses = new Set<number>();
      for (let i = 0; i < 8; i++) {
        s.append(s);
        expected = Buffer.concat([expected, expected]);
        assertLayout(s, expected);
        addresses.add(s.address);
      }
      assert.ok(addresses.size > 1, 'realloc moved the string');
      moved.free();
      s.free();
    });
  });

  void it('concat leaves its operands alone and gives an exact-size result', () => {
    assertNoLeak(heap, () => {
      fc.assert(
        fc.property(fc.array(contents, { minLength: 1, maxLength: 5 }), (parts) => {
          const strings = parts.map((p) => Ilenstr.from(p, heap));
          const [head, ...rest] = strings;
          const joined = head?.concat(...rest) ?? assert.fail();
          assertLayout(joined, Buffer.concat(parts));
          strings.forEach((s, i) => assertLayout(s, parts[i] ?? assert.fail()));
          joined.free();
          strings.forEach((s) => s.free());
        }),
      );
    });
  });
});

void describe('compare and equals', () => {
  void it('order bytes like memcmp, \\0 included, a proper prefix first', () => {
    const nearby = fc.oneof(contents, fc.constantFrom(new Uint8Array(0), Uint8Array.of(0)));
    assertNoLeak(heap, () => {
      fc.assert(
        fc.property(nearby, nearby, fc.boolean(), (a, b, withPrefix) => {
          const right = withPrefix ? Buffer.concat([a, b]) : b; // often a prefix of the other
          const x = Ilenstr.from(a, heap);
          const y = Ilenstr.from(right, heap);
          assert.equal(x.compare(y), Math.sign(Buffer.compare(a, right)));
          assert.equal(x.equals(y), Buffer.compare(a, right) === 0);
          const copy = x.dup();
          assert.ok(x.equals(copy), 'a string equals its copy');
          copy.free();
          x.free();
          y.free();
        }),
      );
    });
  });
});

void describe('legacy char * functions see the prefix up to the first \\0', () => {
  const captured = heapWithCapturedStdout();
  after(() => captured.close());

  void it('strlen, strcmp, strcpy and printf, unchecked', () => {
    const h = captured.heap;
    assertNoLeak(h, () => {
      fc.assert(
        fc.property(contents, contents, (a, b) => {
          const x = Ilenstr.from(a, h);
          const y = Ilenstr.from(b, h);
          assert.equal(legacyUnchecked('strlen', x), prefix(a).length);
          assert.equal(
            legacyUnchecked('strcmp', x, y),
            Math.sign(Buffer.compare(prefix(a), prefix(b))),
          );
          const copy = legacyUnchecked('strcpy', x);
          assertLayout(copy, prefix(a)); // strcpy wrote into an ilenstr and kept it valid
          assert.equal(legacyUnchecked('printf', x), prefix(a).length);
          assert.deepEqual(captured.takeOutput(), Buffer.from(prefix(a)));
          copy.free();
          x.free();
          y.free();
        }),
        { numRuns: 300 },
      );
    });
  });

  void it('checked: the same results without inner \\0, refused with one', () => {
    const h = captured.heap;
    assertNoLeak(h, () => {
      fc.assert(
        fc.property(contents, (a) => {
          const x = Ilenstr.from(a, h);
          if (a.includes(0)) {
            assert.throws(() => legacy('strlen', x), { code: 'ILENSTR_INNER_NUL' });
            assert.throws(() => legacy('printf', x), { code: 'ILENSTR_INNER_NUL' });
            assert.equal(captured.takeOutput().length, 0, 'nothing printed');
          } else {
            assert.equal(legacy('strlen', x), a.length);
            assert.equal(legacy('printf', x), a.length);
            assert.deepEqual(captured.takeOutput(), Buffer.from(a));
            const copy = legacy('strcpy', x);
            assert.ok(copy.equals(x));
            copy.free();
          }
          x.free();
        }),
      );
    });
  });
});
