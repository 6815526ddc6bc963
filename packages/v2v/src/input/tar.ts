/**
 * The members of an uncompressed tar file (ustar, GNU and pax long names), with the offset of
 * each member's data, so that an OVA's disks are read in place without unpacking them.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface TarMember {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octal(header: Buffer, start: number, length: number): number {
  // GNU base-256 for sizes of 8 GiB and more: high bit of the first byte set.
  if ((header[start]! & 0x80) !== 0) {
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + header[i]!;
    return value;
  }
  const digits = field(header, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

/** Reads the headers of `path`; null when it is not a tar file. */
export function listTar(path: string): TarMember[] | null {
  const fd = openSync(path, 'r');
  try {
    const members: TarMember[] = [];
    const header = Buffer.alloc(512);
    let at = 0;
    let longName: string | null = null;
    for (;;) {
      if (readSync(fd, header, 0, 512, at) < 512) return at === 0 ? null : members;
      if (header.every((b) => b === 0)) break;
      if (header.toString('latin1', 257, 262) !== 'ustar') return members.length ? members : null;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
      if (sum !== octal(header, 148, 8)) return null;
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156]!);
      const data = at + 512;
      if (type === 'L' || type === 'x') {
        const body = Buffer.alloc(size);
        readSync(fd, body, 0, size, data);
        if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
        else {
          const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
          if (m) longName = m[1]!;
        }
      } else {
        const prefix = field(header, 345, 155);
        const name =
          longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
        longName = null;
        if (type === '0' || type === '\0') members.push({ name, offset: data, size });
      }
      at = data + Math.ceil(size / 512) * 512;
    }
    return members;
  } finally {
    closeSync(fd);
  }
}
