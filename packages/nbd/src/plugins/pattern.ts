// pattern: a read-only disk where each 8-byte word holds its own offset, big-endian
// (nbdkit-pattern-plugin), so any misplaced byte shows in a test.
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';

const SPAN = 65536;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Byte-swapped low 16 bits of each word offset inside a 64 KiB span. */
const LOW_TABLE = Uint32Array.from({ length: SPAN / 8 }, (_, k) => bswap32(k * 8));

/** Fills `buf` with the pattern for the disk bytes starting at `offset`. */
export function fillPattern(buf: Buffer, offset: number): void {
  const end = offset + buf.length;
  const firstWord = Math.floor(offset / 8) * 8;
  let at = firstWord;
  // Unaligned head and tail bytes are taken from a scratch word.
  const word = Buffer.allocUnsafe(8);
  const writeWordAt = (wordOffset: number) => {
    word.writeUInt32BE(Math.floor(wordOffset / 0x100000000), 0);
    word.writeUInt32BE(wordOffset >>> 0, 4);
    const from = Math.max(wordOffset, offset);
    const to = Math.min(wordOffset + 8, end);
    word.copy(buf, from - offset, from - wordOffset, to - wordOffset);
  };
  if (at < offset) {
    writeWordAt(at);
    at += 8;
  }
  const alignedEnd = Math.floor(end / 8) * 8;
  const start = at - offset;
  if (alignedEnd > at) {
    // Fast path over whole words with 32-bit stores. Within a 64 KiB-aligned span the
    // high word is constant and the low word differs only in its low 16 bits, which come
    // from a precomputed table, so each word costs two stores and an OR.
    const words = (alignedEnd - at) / 8;
    if ((buf.byteOffset + start) % 4 === 0 && LITTLE_ENDIAN) {
      const u32 = new Uint32Array(buf.buffer, buf.byteOffset + start, words * 2);
      let i = 0;
      while (i < words) {
        const value = at + i * 8;
        const spanEnd = Math.min(words, i + (SPAN - (value % SPAN)) / 8);
        const hi = bswap32(Math.floor(value / 0x100000000));
        const mid = bswap32((value >>> 0) & 0xffff0000);
        let k = (value % SPAN) / 8;
        for (let j = 2 * i; i < spanEnd; i++, j += 2, k++) {
          u32[j] = hi;
          u32[j + 1] = mid | LOW_TABLE[k]!;
        }
      }
    } else {
      for (let i = 0; i < words; i++) {
        const value = at + i * 8;
        buf.writeUInt32BE(Math.floor(value / 0x100000000), start + i * 8);
        buf.writeUInt32BE(value >>> 0, start + i * 8 + 4);
      }
    }
    at = alignedEnd;
  }
  if (at < end) writeWordAt(at);
}

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

export function createPatternPlugin() {
  let size: number | undefined;
  return definePlugin<null>({
    name: 'pattern',
    description: 'A read-only disk whose every 8-byte word is its own offset (big-endian).',
    keys: [{ key: 'size=SIZE', help: 'Size of the disk (required).' }],
    magicConfigKey: 'size',
    config(key, value) {
      if (key !== 'size') throw new ConfigError(`pattern: unknown parameter ${key}`);
      size = parseSize(value);
    },
    configComplete() {
      if (size === undefined) throw new ConfigError('pattern: size= is required');
    },
    open: () => null,
    getSize: () => size!,
    canMultiConn: () => true,
    canCache: () => 'native',
    pread: (_h, buf, offset) => fillPattern(buf, offset),
    cache: () => undefined,
  });
}
