// The pattern plugin's fill against the definition (each 8-byte word is its own offset,
// big-endian), for ranges of every alignment, in buffers at odd and even addresses, from
// offsets up to 2^53.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { fillPattern } from '../../src/plugins/pattern.js';

function byteAt(offset: number): number {
  const word = offset - (offset % 8);
  return Number((BigInt(word) >> BigInt(8 * (7 - (offset % 8)))) & 0xffn);
}

void describe('pattern', () => {
  void it('fills any range, at any address, with each word holding its offset', () => {
    const backing = Buffer.alloc(300_000);
    for (let i = 0; i < 300; i++) {
      const length = randomInt(1, i % 3 === 0 ? 200_000 : 5000);
      // Anywhere, around 4 GiB boundaries (the low 32 bits wrap), and up to 2^53.
      const offset = [
        randomInt(0, 2 ** 44),
        2 ** 32 * randomInt(1, 9) - randomInt(0, 70_000),
        2 ** 53 - randomInt(200_001, 2 ** 40),
      ][i % 3]!;
      const at = randomInt(0, 5);
      const buf = backing.subarray(at, at + length);
      fillPattern(buf, offset);
      for (let k = 0; k < length; k += k < 64 || length - k < 64 ? 1 : 997) {
        if (buf[k] !== byteAt(offset + k)) {
          assert.fail(`byte ${k} of ${length} at offset ${offset} (address +${at}): ${buf[k]}`);
        }
      }
    }
  });
});
