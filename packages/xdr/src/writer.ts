import { XdrError } from './errors.js';
import type { XdrStrings } from './reader.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const HYPER_MIN = -(1n << 63n);
const HYPER_MAX = (1n << 63n) - 1n;
const UHYPER_MAX = (1n << 64n) - 1n;

/** Appends XDR primitives to a growing buffer. Values out of range are rejected, never wrapped. */
export class XdrWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  /** How `string<>` values are written: UTF-8, or one byte per character (see XdrStrings). */
  readonly strings: XdrStrings;

  constructor(initialSize = 256, options: { strings?: XdrStrings } = {}) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
    this.strings = options.strings ?? 'utf8';
  }

  get offset(): number {
    return this.pos;
  }

  /** Makes room for n bytes and returns where they go. Call it before reading `this.view`:
   *  growing replaces the view. */
  private reserve(n: number): number {
    if (this.pos + n > this.buf.byteLength) {
      let size = this.buf.byteLength * 2;
      while (size < this.pos + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.pos));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private range(ok: boolean, what: string, value: number | bigint): void {
    if (!ok) throw new XdrError('XDR_INVALID', `${String(value)} is not a valid ${what}`, this.pos);
  }

  int(v: number): void {
    this.range(Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX, 'int', v);
    const at = this.reserve(4);
    this.view.setInt32(at, v);
  }

  uint(v: number): void {
    this.range(Number.isInteger(v) && v >= 0 && v <= UINT32_MAX, 'unsigned int', v);
    const at = this.reserve(4);
    this.view.setUint32(at, v);
  }

  hyper(v: bigint): void {
    this.range(typeof v === 'bigint' && v >= HYPER_MIN && v <= HYPER_MAX, 'hyper', v);
    const at = this.reserve(8);
    this.view.setBigInt64(at, v);
  }

  uhyper(v: bigint): void {
    this.range(typeof v === 'bigint' && v >= 0n && v <= UHYPER_MAX, 'unsigned hyper', v);
    const at = this.reserve(8);
    this.view.setBigUint64(at, v);
  }

  float(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v);
  }

  double(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v);
  }

  /** The bytes, then zero padding to a multiple of four. */
  bytes(data: Uint8Array): void {
    const pad = (4 - (data.byteLength % 4)) % 4;
    const at = this.reserve(data.byteLength + pad);
    this.buf.set(data, at);
    this.buf.fill(0, at + data.byteLength, at + data.byteLength + pad);
  }

  /** Overwrite a 32-bit unsigned value already written (used for length prefixes). */
  patchUint(offset: number, v: number): void {
    this.view.setUint32(offset, v);
  }

  /** The bytes written so far (a copy-free view while the writer is not used again). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
