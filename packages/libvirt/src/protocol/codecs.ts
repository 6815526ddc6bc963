/** The codecs the generated protocol uses for what XDR spells as bytes or numbers but
 *  TypeScript callers want as text: UUIDs and C strings. */
import { type Codec, array, fixedArray, fixedOpaque, int, mapped } from '@tsvirt/xdr';

/** A 16-byte UUID on the wire, its canonical 36-character form in TypeScript. */
export const uuidString: Codec<string> = mapped(
  fixedOpaque(16),
  'remote_uuid',
  (b) => {
    const h = Buffer.from(b).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
  (s) => {
    const h = s.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new TypeError(`not a UUID: ${s}`);
    return new Uint8Array(Buffer.from(h, 'hex'));
  },
);

/**
 * A C string as rpcgen sends a `char` array: each character a 4-byte (signed) int, up to a NUL.
 * `fixed`: `char x[n]`, padded with NULs; otherwise `char x<max>`, sent with its NUL as the C
 * library does.
 */
export function charString(length: number, fixed: boolean): Codec<string> {
  const wire = fixed ? fixedArray(int, length) : array(int, length);
  return mapped(
    wire,
    fixed ? `char[${length}]` : `char<${length}>`,
    (chars) => {
      const end = chars.indexOf(0);
      return Buffer.from((end < 0 ? chars : chars.slice(0, end)).map((c) => c & 0xff)).toString();
    },
    (text) => {
      const chars = [...Buffer.from(text)].map((b) => (b > 127 ? b - 256 : b));
      if (!fixed) return [...chars, 0];
      if (chars.length > length) throw new TypeError(`"${text}" is longer than char[${length}]`);
      return chars.concat(Array<number>(length - chars.length).fill(0));
    },
  );
}
