// Small helpers to build and parse protocol messages.

/** Reads a big-endian u64 as a number, or -1 if it does not fit in 2^53. */
export function readU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32BE(at);
  const lo = buf.readUInt32BE(at + 4);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + lo;
}

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x100000000), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

/** A cursor over an option's payload that fails cleanly on short data. */
export class Parser {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.at;
  }
  private need(n: number): boolean {
    return this.at + n <= this.buf.length;
  }
  u16(): number | undefined {
    if (!this.need(2)) return undefined;
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number | undefined {
    if (!this.need(4)) return undefined;
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number): Buffer | undefined {
    if (!this.need(n)) return undefined;
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** A u32 length followed by that many bytes of UTF-8. */
  string(): string | undefined {
    const n = this.u32();
    if (n === undefined) return undefined;
    return this.bytes(n)?.toString('utf8');
  }
}
