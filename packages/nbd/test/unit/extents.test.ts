import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExtents } from '../../src/extents.js';
import { NbdError } from '../../src/errors.js';
import { SharedDisk } from '../../src/shared-disk.js';
import { SparseArray } from '../../src/sparse.js';
import { parseSize } from '../../src/size.js';
import { fillPattern } from '../../src/plugins/pattern.js';
import { parseData } from '../../src/plugins/data-format.js';

void describe('normalizeExtents', () => {
  void it('clips, merges and stops at gaps', () => {
    const out = normalizeExtents(
      [
        { offset: 0, length: 100, type: 0 },
        { offset: 100, length: 100, type: 0 },
        { offset: 200, length: 100, type: 3 },
        { offset: 400, length: 100, type: 0 },
      ],
      50,
      1000,
      false,
    );
    assert.deepEqual(out, [
      { offset: 50, length: 150, type: 0 },
      { offset: 200, length: 100, type: 3 },
    ]);
  });
  void it('keeps one extent for REQ_ONE and refuses extents that miss the offset', () => {
    assert.equal(
      normalizeExtents(
        [
          { offset: 0, length: 10, type: 1 },
          { offset: 10, length: 5, type: 0 },
        ],
        0,
        15,
        true,
      ).length,
      1,
    );
    assert.throws(
      () => normalizeExtents([{ offset: 10, length: 5, type: 0 }], 0, 15, false),
      NbdError,
    );
  });
});

void describe('SparseArray', () => {
  void it('reads zeroes where nothing was written and reports pages as extents', () => {
    const a = new SparseArray();
    a.write(Buffer.from('hello'), 40000);
    const b = Buffer.alloc(10);
    a.read(b, 39998);
    assert.deepEqual([...b.subarray(0, 7)], [0, 0, 104, 101, 108, 108, 111]);
    assert.deepEqual(a.extents(100000, 0), [
      { offset: 0, length: 32768, type: 3 },
      { offset: 32768, length: 32768, type: 0 },
      { offset: 65536, length: 34464, type: 3 },
    ]);
    a.zero(32768, 32768);
    assert.equal(a.allocatedBytes, 0);
  });
  void it('reuses freed pages without leaking their old bytes', () => {
    const a = new SparseArray();
    a.write(Buffer.alloc(32768, 0xee), 0);
    a.zero(32768, 0);
    a.write(Buffer.from([1]), 5 * 32768 + 10);
    const page = Buffer.alloc(32768);
    a.read(page, 5 * 32768);
    assert.equal(page[10], 1);
    assert.equal(page.filter((b) => b !== 0).length, 1);
  });
});

void describe('SharedDisk', () => {
  void it('reads zeroes where nothing was written and maps written pages as data', async () => {
    const d = new SharedDisk('unit-test');
    await d.write(Buffer.from('hello'), 40000);
    await d.write(Buffer.alloc(256 * 1024, 7), 1 << 20); // large: through the thread pool
    const b = Buffer.alloc(10);
    await d.read(b, 39998);
    assert.deepEqual([...b.subarray(0, 7)], [0, 0, 104, 101, 108, 108, 111]);
    const big = Buffer.alloc(300 * 1024);
    await d.read(big, (1 << 20) - 1024);
    assert.ok(big.subarray(0, 1024).every((x) => x === 0));
    assert.ok(big.subarray(1024, 1024 + 256 * 1024).every((x) => x === 7));
    assert.deepEqual(d.extents(100000, 1000), [
      { offset: 1000, length: 31768, type: 3 },
      { offset: 32768, length: 32768, type: 0 },
      { offset: 65536, length: 34464 + 1000, type: 3 },
    ]);
    d.close();
  });

  void it('zeroes parts of pages in place and unmaps whole pages', async () => {
    const d = new SharedDisk('unit-test');
    await d.write(Buffer.alloc(4 * 32768, 0xee), 0);
    // The end of page 0, pages 1 and 2, the start of page 3.
    await d.zero(2 * 32768 + 200, 32768 - 100);
    const all = Buffer.alloc(4 * 32768);
    await d.read(all, 0);
    assert.ok(all.subarray(0, 32768 - 100).every((x) => x === 0xee));
    assert.ok(all.subarray(32768 - 100, 3 * 32768 + 100).every((x) => x === 0));
    assert.ok(all.subarray(3 * 32768 + 100).every((x) => x === 0xee));
    assert.deepEqual(d.extents(4 * 32768, 0), [
      { offset: 0, length: 32768, type: 0 },
      { offset: 32768, length: 2 * 32768, type: 3 },
      { offset: 3 * 32768, length: 32768, type: 0 },
    ]);
    d.close();
  });
});

void describe('parsers', () => {
  void it('parses sizes', () => {
    assert.equal(parseSize('1G'), 2 ** 30);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize('512'), 512);
    assert.throws(() => parseSize('lots'), /not a size/);
  });
  void it('parses the data language', () => {
    const { placed, end } = parseData('1 2 @10 "ab" (3 4)*2 @+1 0x10');
    assert.equal(end, 18);
    const disk = Buffer.alloc(end);
    for (const p of placed) p.bytes.copy(disk, p.offset);
    assert.deepEqual([...disk], [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 97, 98, 3, 4, 3, 4, 0, 16]);
  });
  void it('fills the pattern at any offset', () => {
    const b = Buffer.alloc(24);
    fillPattern(b, 2 ** 32 + 4);
    assert.equal(
      b.toString('hex'),
      '00000000' + '0000000100000008' + '0000000100000010' + '00000001',
    );
  });
});
