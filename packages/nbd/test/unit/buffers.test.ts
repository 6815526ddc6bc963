// The buffer pool (every buffer HEADROOM bytes into memory of its own, reused once released)
// and zero detection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool, HEADROOM, isPoolBuffer, withHeader } from '../../src/protocol/buffer-pool.js';
import { isAllZero } from '../../src/zeroes.js';

void describe('BufferPool', () => {
  void it('gives buffers that start HEADROOM bytes into memory of their own', () => {
    const pool = new BufferPool();
    for (const n of [4096, 256 << 10, 4 << 20]) {
      const buf = pool.get(n);
      assert.equal(buf.length, n);
      assert.equal(buf.byteOffset, HEADROOM);
      assert.equal(buf.buffer.byteLength, HEADROOM + n);
      assert.ok(isPoolBuffer(buf));
    }
  });

  void it('reuses a released buffer of the same size, and only that', () => {
    const pool = new BufferPool();
    const a = pool.get(256 << 10);
    pool.release(a);
    assert.equal(pool.get(128 << 10).buffer === a.buffer, false);
    assert.equal(pool.get(256 << 10).buffer, a.buffer);
    assert.equal(pool.get(256 << 10).buffer === a.buffer, false, 'handed out once only');
  });

  void it('ignores buffers it did not make, and views into its own', () => {
    const pool = new BufferPool();
    const own = pool.get(64 << 10);
    pool.release(own.subarray(0, 32 << 10));
    pool.release(Buffer.allocUnsafeSlow(32 << 10));
    assert.equal(isPoolBuffer(own.subarray(1)), false);
    assert.equal(pool.get(32 << 10).buffer === own.buffer, false);
  });

  void it('puts a header in front of the data without copying the data', () => {
    const pool = new BufferPool();
    const data = pool.get(8192).fill(7);
    const frame = withHeader(Buffer.from([1, 2, 3]), data);
    assert.equal(frame.length, 3 + 8192);
    assert.deepEqual([...frame.subarray(0, 4)], [1, 2, 3, 7]);
    data[0] = 9;
    assert.equal(frame[3], 9, 'the frame shares the data');
    assert.throws(() => withHeader(Buffer.alloc(3), Buffer.alloc(8192)), /BufferPool/);
    assert.throws(() => withHeader(Buffer.alloc(HEADROOM + 1), data), /BufferPool/);
  });
});

void describe('isAllZero', () => {
  void it('finds a single non-zero byte anywhere', () => {
    for (const n of [1, 4095, 64 << 10, (64 << 10) + 1, 256 << 10]) {
      const buf = Buffer.alloc(n);
      assert.ok(isAllZero(buf), `${n} zeroes`);
      for (const at of [0, n >> 1, n - 1]) {
        buf[at] = 1;
        assert.equal(isAllZero(buf), false, `${n} bytes, 1 at ${at}`);
        buf[at] = 0;
      }
    }
  });

  void it('calls an empty buffer all zero, and looks only inside a view', () => {
    assert.ok(isAllZero(Buffer.alloc(0)));
    const buf = Buffer.alloc(100, 0xff);
    buf.fill(0, 10, 90);
    assert.ok(isAllZero(buf.subarray(10, 90)));
  });
});
