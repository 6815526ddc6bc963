// pattern: a read-only disk where each 8-byte word holds its own offset, big-endian
// (nbdkit-pattern-plugin), so any misplaced byte shows in a test.
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';

const SPAN = 65536;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The last two bytes (big-endian) of each word inside a 64 KiB span, as little-endian u16. */
const LOW16 = Uint16Array.from(
  { length: SPAN / 8 },
  (_, k) => ((k * 8) >>> 8) | (((k * 8) & 0xff) << 8),
);
const spanWord = Buffer.alloc(8);

/**
 * Whole words from `value` (a multiple of 8) for `length` bytes, all in one 64 KiB-aligned
 * span, at `at` in `buf` (an even address): the words share their first six bytes, so one
 * native fill of that 8-byte word, then one 16-bit store per word for the last two bytes.
 */
function fillWords(buf: Buffer, at: number, value: number, length: number): void {
  spanWord.writeUInt32BE(Math.floor(value / 0x100000000), 0);
  spanWord.writeUInt32BE(value >>> 0, 4);
  buf.fill(spanWord, at, at + length);
  const u16 = new Uint16Array(buf.buffer, buf.byteOffset + at, length / 2);
  const first = (value % SPAN) / 8;
  const last = first + length / 8;
  for (let k = first, j = 3; k < last; k++, j += 4) u16[j] = LOW16[k]!;
}

/** Any range, a byte at a time from each word: for the unaligned edges of a request. */
function fillRange(buf: Buffer, offset: number, from: number, to: number): void {
  const word = Buffer.allocUnsafe(8);
  for (let at = from; at < to;) {
    const wordOffset = at - (at % 8);
    word.writeUInt32BE(Math.floor(wordOffset / 0x100000000), 0);
    word.writeUInt32BE(wordOffset >>> 0, 4);
    const stop = Math.min(wordOffset + 8, to);
    word.copy(buf, at - offset, at - wordOffset, stop - wordOffset);
    at = stop;
  }
}

/** Fills `buf` with the pattern for the disk bytes starting at `offset`. */
export function fillPattern(buf: Buffer, offset: number): void {
  const end = offset + buf.length;
  const firstWord = Math.min(Math.ceil(offset / 8) * 8, end);
  const endWord = Math.max(Math.floor(end / 8) * 8, firstWord);
  if (!LITTLE_ENDIAN || (buf.byteOffset + firstWord - offset) % 2 !== 0) {
    fillRange(buf, offset, offset, end);
    return;
  }
  fillRange(buf, offset, offset, firstWord);
  for (let at = firstWord; at < endWord;) {
    const stop = Math.min(at - (at % SPAN) + SPAN, endWord);
    fillWords(buf, at - offset, at, stop - at);
    at = stop;
  }
  fillRange(buf, offset, endWord, end);
}

export function createPatternPlugin() {
  let size: number | undefined;
  return definePlugin<null>({
    name: 'pattern',
    threadModel: 'multiProcess',
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
