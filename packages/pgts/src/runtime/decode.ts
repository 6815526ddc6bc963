// Turns PostgreSQL's text output into JavaScript values, following the same table as the
// generated types (types/pg-types.ts). Drivers are told not to parse anything themselves,
// so node-postgres and PGlite give identical values.
import {
  BUILTIN_ARRAYS,
  BUILTIN_TYPES,
  valueKind,
  type DateMode,
  type Int8Mode,
  type ValueKind,
} from '../types/pg-types.js';
import { parse as parseArray } from 'postgres-array';
import { parseRecord } from '../types/text-format.js';

export type Decoder = (text: string) => unknown;

export interface DecodeOptions {
  /** How int8 values arrive: 'string' (default, exact), 'bigint' or 'number' (may round). */
  int8?: Int8Mode;
  /** How date values arrive: 'string' ('YYYY-MM-DD', default) or 'Date' (UTC midnight). */
  date?: DateMode;
}

/** A pg_type row, as the runtime asks for it when it meets a type it does not know. */
export interface RuntimeTypeInfo {
  oid: number;
  name: string;
  kind: string;
  category: string;
  elem: number;
  base: number;
  /** For a composite type: its fields in order. */
  fields: Array<{ name: string; typeOid: number }> | null;
}

export type TypeLookup = (oids: number[]) => Promise<RuntimeTypeInfo[]>;

export class ValueDecoder {
  private readonly decoders = new Map<number, Decoder>();
  private readonly known = new Map<number, RuntimeTypeInfo>();

  constructor(private readonly options: DecodeOptions = {}) {}

  /**
   * Makes sure every OID (and what it refers to) can be decoded; asks `lookup` about the
   * ones it does not know yet.
   */
  async prepare(oids: Iterable<number>, lookup: TypeLookup): Promise<void> {
    let missing: number[] = [];
    for (const oid of oids) if (!this.isKnown(oid)) missing.push(oid);
    missing = [...new Set(missing)];
    while (missing.length > 0) {
      const infos = await lookup(missing);
      for (const info of infos) this.known.set(info.oid, info);
      for (const o of missing) if (!this.known.has(o)) this.known.set(o, unknownType(o));
      missing = [
        ...new Set(
          infos.flatMap((i) => [i.elem, i.base, ...(i.fields ?? []).map((f) => f.typeOid)]),
        ),
      ].filter((o) => o !== 0 && !this.isKnown(o));
    }
  }

  decoder(oid: number): Decoder {
    let decoder = this.decoders.get(oid);
    if (decoder === undefined) {
      decoder = this.build(oid);
      this.decoders.set(oid, decoder);
    }
    return decoder;
  }

  private isKnown(oid: number): boolean {
    return BUILTIN_TYPES.has(oid) || BUILTIN_ARRAYS.has(oid) || this.known.has(oid);
  }

  private build(oid: number): Decoder {
    const builtin = BUILTIN_TYPES.get(oid);
    if (builtin !== undefined) return this.scalar(valueKind(builtin));
    const element = BUILTIN_ARRAYS.get(oid);
    if (element !== undefined) return this.array(element);
    const info = this.known.get(oid);
    if (info === undefined) return (text) => text;
    if (info.kind === 'd') return this.decoder(info.base);
    if (info.kind === 'c' && info.fields !== null) return this.composite(info.fields);
    if (info.category === 'A' && info.elem !== 0) return this.array(info.elem);
    return this.scalar(info.kind === 'b' ? valueKind(info.name) : 'text');
  }

  private array(elementOid: number): Decoder {
    const element = this.decoder(elementOid);
    return (text) => parseArray(text, element);
  }

  private composite(fields: Array<{ name: string; typeOid: number }>): Decoder {
    const decoders = fields.map((f) => this.decoder(f.typeOid));
    return (text) => {
      const values = parseRecord(text);
      const out: Record<string, unknown> = {};
      fields.forEach((f, k) => {
        const value = values[k];
        out[f.name] = value === null || value === undefined ? null : (decoders[k] ?? String)(value);
      });
      return out;
    };
  }

  private scalar(kind: ValueKind): Decoder {
    switch (kind) {
      case 'int':
      case 'float':
        return Number;
      case 'int8':
        return this.options.int8 === 'bigint'
          ? BigInt
          : this.options.int8 === 'number'
            ? Number
            : (text) => text;
      case 'numeric':
      case 'text':
        return (text) => text;
      case 'bool':
        return (text) => text === 't';
      case 'bytea':
        return decodeBytea;
      case 'date':
        return this.options.date === 'Date'
          ? (text) => new Date(`${text}T00:00:00Z`)
          : (text) => text;
      case 'timestamp': // no offset: read as UTC
      case 'timestamptz':
        return decodeTimestamp;
      case 'json':
        return (text) => JSON.parse(text) as unknown;
    }
  }
}

function unknownType(oid: number): RuntimeTypeInfo {
  return { oid, name: 'unknown', kind: 'b', category: 'U', elem: 0, base: 0, fields: null };
}

function decodeBytea(text: string): Uint8Array {
  // bytea_output = hex (the default since PostgreSQL 9.0): \x0a0b...
  return Buffer.from(text.slice(2), 'hex');
}

const MAX_DATE = 8.64e15;

/**
 * PostgreSQL's ISO output, `2024-01-02 03:04:05.678901+05:30` (timestamptz, offset +HH,
 * +HH:MM or +HH:MM:SS) or `2024-01-02 03:04:05` (timestamp, read as UTC), read by position:
 * rows of timestamps are common and this is several times faster than a regular expression.
 */
function decodeTimestamp(text: string): Date {
  const length = text.length;
  if (length < 19 || text.charCodeAt(4) !== DASH || text.charCodeAt(10) !== SPACE) {
    return decodeUnusualTimestamp(text);
  }
  const year = digits(text, 0, 4);
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === DOT) {
    at++;
    for (let scale = 100; at < length && isDigit(text.charCodeAt(at)); at++, scale /= 10) {
      ms += (text.charCodeAt(at) - ZERO) * scale;
    }
  }
  let offset = 0;
  if (at < length) {
    const sign = text.charCodeAt(at) === MINUS ? -1 : text.charCodeAt(at) === PLUS ? 1 : 0;
    offset = digits(text, at + 1, 2) * 3600;
    at += 3;
    for (let unit = 60; unit >= 1 && text.charCodeAt(at) === COLON; unit /= 60, at += 3) {
      offset += digits(text, at + 1, 2) * unit;
    }
    if (sign === 0 || at !== length) return decodeUnusualTimestamp(text);
    offset *= sign * 1000;
  }
  const time =
    Date.UTC(
      year,
      digits(text, 5, 2) - 1,
      digits(text, 8, 2),
      digits(text, 11, 2),
      digits(text, 14, 2),
      digits(text, 17, 2),
      Math.floor(ms),
    ) - offset;
  // Date.UTC reads years 0-99 as 1900-1999; a malformed field is NaN.
  return year < 100 || Number.isNaN(time) ? decodeUnusualTimestamp(text) : new Date(time);
}

const [ZERO, DASH, SPACE, DOT, MINUS, PLUS, COLON] = [48, 45, 32, 46, 45, 43, 58];

function isDigit(code: number): boolean {
  return code >= ZERO && code <= ZERO + 9;
}

/** The decimal number in `count` characters at `at`; NaN when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let k = at; k < at + count; k++) {
    const code = text.charCodeAt(k);
    if (!isDigit(code)) return Number.NaN;
    value = value * 10 + code - ZERO;
  }
  return value;
}

/** Infinity, BC dates, years before 100 or past 9999: rare, read the slow way. */
function decodeUnusualTimestamp(text: string): Date {
  // A Date cannot be infinite: the latest and earliest Dates stand in, and compare right.
  if (text === 'infinity') return new Date(MAX_DATE);
  if (text === '-infinity') return new Date(-MAX_DATE);
  const bc = text.endsWith(' BC');
  const body = bc ? text.slice(0, -3) : text;
  const m = /^(\d+)-(.*?)(?:([+-]\d\d)(?::?(\d\d))?(?::\d\d)?)?$/.exec(body);
  if (m === null) return new Date(Number.NaN);
  // Year 1 BC is year 0 in ISO 8601; years need six digits and a sign past four.
  const year = bc ? 1 - Number(m[1]) : Number(m[1]);
  const iso = `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}-${(m[2] ?? '').replace(' ', 'T')}`;
  return new Date(`${iso}${m[3] === undefined ? 'Z' : `${m[3]}:${m[4] ?? '00'}`}`);
}
