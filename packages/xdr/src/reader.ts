import { XdrError } from './errors.js';

/**
 * How `string<>` values become JS strings:
 * - 'utf8' (the default): text, which must be valid UTF-8.
 * - 'bytes': one character (U+0000-U+00FF) per byte, any byte sequence, as C sees a string.
 *   For a peer whose strings are file names, which on Linux are bytes and not always UTF-8.
 */
export type XdrStrings = 'utf8' | 'bytes';

/** Reads XDR primitives from a buffer, front to back. Every read checks the bounds first. */
export class XdrReader {
  private readonly view: DataView;
  private pos: number;
  readonly strings: XdrStrings;

  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
    options: { strings?: XdrStrings } = {},
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = offset;
    this.strings = options.strings ?? 'utf8';
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.byteLength - this.pos;
  }

  private need(n: number, what: string): number {
    if (n > this.remaining) {
      throw new XdrError(
        'XDR_TRUNCATED',
        `input truncated: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`,
        this.pos,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int(): number {
    return this.view.getInt32(this.need(4, 'int'));
  }

  uint(): number {
    return this.view.getUint32(this.need(4, 'unsigned int'));
  }

  hyper(): bigint {
    return this.view.getBigInt64(this.need(8, 'hyper'));
  }

  uhyper(): bigint {
    return this.view.getBigUint64(this.need(8, 'unsigned hyper'));
  }

  float(): number {
    return this.view.getFloat32(this.need(4, 'float'));
  }

  double(): number {
    return this.view.getFloat64(this.need(8, 'double'));
  }

  /** `n` bytes followed by padding to a multiple of four; the padding must be zero. */
  bytes(n: number): Uint8Array {
    const at = this.need(n, `${n} bytes of opaque data`);
    const pad = (4 - (n % 4)) % 4;
    const padAt = this.need(pad, 'padding');
    for (let i = 0; i < pad; i++) {
      if (this.buf[padAt + i] !== 0) {
        throw new XdrError(
          'XDR_INVALID',
          `non-zero padding byte at offset ${padAt + i}`,
          padAt + i,
        );
      }
    }
    return this.buf.subarray(at, at + n);
  }
}
