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
      case 'timestamp':
        return (text) => decodeTimestamp(text, 'Z');
      case 'timestamptz':
        return (text) => decodeTimestamp(text, '');
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

/** `2024-01-02 03:04:05.678+01` (timestamptz) or `2024-01-02 03:04:05` (timestamp, as UTC). */
function decodeTimestamp(text: string, zone: string): Date {
  // A Date cannot be infinite: the latest and earliest Dates stand in, and compare right.
  if (text === 'infinity') return new Date(MAX_DATE);
  if (text === '-infinity') return new Date(-MAX_DATE);
  let iso = text.replace(' ', 'T');
  // Offsets print as +01, +05:30 or +05:30:15; Date wants +HH:MM.
  iso = iso.replace(/([+-]\d\d)(?::?(\d\d))?(?::\d\d)?$/, (_m, h: string, m?: string) =>
    zone === '' ? `${h}:${m ?? '00'}` : _m,
  );
  return new Date(iso + zone);
}
