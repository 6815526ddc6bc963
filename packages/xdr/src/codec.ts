import { XdrError } from './errors.js';
import { XdrReader } from './reader.js';
import { XdrWriter } from './writer.js';

/**
 * How one XDR type is written and read. Codecs compose the way XDR definitions do: a struct codec
 * is built from its fields' codecs, and the TypeScript type of the value follows.
 */
export interface Codec<T> {
  /** The name used in error messages, e.g. `remote_nonnull_domain` or `string<1048576>`. */
  readonly name: string;
  encode(w: XdrWriter, value: T): void;
  decode(r: XdrReader): T;
}

/** The TypeScript type a codec reads and writes. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

/** Unbounded lengths (`<>` in a definition) are still limited to what a 32-bit length allows. */
const UNBOUNDED = 0xffffffff;

function codec<T>(name: string, encode: Codec<T>['encode'], decode: Codec<T>['decode']): Codec<T> {
  return { name, encode, decode };
}

/** Runs `f`, naming `where` in any XdrError it throws. */
function at<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof XdrError) throw e.within(where);
    throw e;
  }
}

export const xvoid: Codec<void> = codec(
  'void',
  () => {},
  () => undefined,
);
export const int: Codec<number> = codec(
  'int',
  (w, v) => w.int(v),
  (r) => r.int(),
);
export const uint: Codec<number> = codec(
  'unsigned int',
  (w, v) => w.uint(v),
  (r) => r.uint(),
);
export const hyper: Codec<bigint> = codec(
  'hyper',
  (w, v) => w.hyper(v),
  (r) => r.hyper(),
);
export const uhyper: Codec<bigint> = codec(
  'unsigned hyper',
  (w, v) => w.uhyper(v),
  (r) => r.uhyper(),
);
export const float: Codec<number> = codec(
  'float',
  (w, v) => w.float(v),
  (r) => r.float(),
);
export const double: Codec<number> = codec(
  'double',
  (w, v) => w.double(v),
  (r) => r.double(),
);

/** `bool`: an int that must be 0 or 1. */
export const bool: Codec<boolean> = codec(
  'bool',
  (w, v) => w.int(v ? 1 : 0),
  (r) => {
    const offset = r.offset;
    const v = r.int();
    if (v !== 0 && v !== 1)
      throw new XdrError('XDR_INVALID', `bool must be 0 or 1, got ${v}`, offset);
    return v === 1;
  },
);

/**
 * `enum name { A = 1, B = 2 }`: values are the enum's numbers; decoding rejects numbers that are
 * not members. Pass the members as an object, e.g. `enumeration('color', { RED: 0, GREEN: 1 })`.
 */
export function enumeration<const E extends Record<string, number>>(
  name: string,
  members: E,
): Codec<E[keyof E]> {
  const allowed = new Set<number>(Object.values(members));
  const check = (v: number, offset: number): E[keyof E] => {
    if (!allowed.has(v)) {
      throw new XdrError('XDR_INVALID', `${v} is not a member of enum ${name}`, offset);
    }
    return v as E[keyof E];
  };
  return codec(
    name,
    (w, v) => w.int(check(v, w.offset)),
    (r) => {
      const offset = r.offset;
      return check(r.int(), offset);
    },
  );
}

function lengthPrefix(r: XdrReader, max: number, what: string): number {
  const offset = r.offset;
  const n = r.uint();
  if (n > max) {
    throw new XdrError('XDR_OVERSIZE', `${what} length ${n} exceeds the maximum ${max}`, offset);
  }
  // A length larger than the rest of the input is truncated input, said before allocating.
  if (n > r.remaining) {
    throw new XdrError(
      'XDR_TRUNCATED',
      `input truncated: ${what} of length ${n} at offset ${offset}, only ${r.remaining} bytes left`,
      offset,
    );
  }
  return n;
}

function checkLength(n: number, max: number, what: string, offset: number): void {
  if (n > max) {
    throw new XdrError('XDR_OVERSIZE', `${what} length ${n} exceeds the maximum ${max}`, offset);
  }
}

/** `opaque name[n]`: exactly n bytes. */
export function fixedOpaque(n: number): Codec<Uint8Array> {
  return codec(
    `opaque[${n}]`,
    (w, v) => {
      if (v.byteLength !== n) {
        throw new XdrError('XDR_INVALID', `opaque[${n}] given ${v.byteLength} bytes`, w.offset);
      }
      w.bytes(v);
    },
    (r) => r.bytes(n),
  );
}

/** `opaque name<max>`: a length, then that many bytes. */
export function opaque(max = UNBOUNDED): Codec<Uint8Array> {
  const name = max === UNBOUNDED ? 'opaque<>' : `opaque<${max}>`;
  return codec(
    name,
    (w, v) => {
      checkLength(v.byteLength, max, name, w.offset);
      w.uint(v.byteLength);
      w.bytes(v);
    },
    (r) => r.bytes(lengthPrefix(r, max, name)),
  );
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `string name<max>`: UTF-8 text; `max` counts bytes, as XDR does. A reader or writer made
 * with `strings: 'bytes'` maps each byte to one character (U+0000-U+00FF) instead.
 */
export function string(max = UNBOUNDED): Codec<string> {
  const name = max === UNBOUNDED ? 'string<>' : `string<${max}>`;
  return codec(
    name,
    (w, v) => {
      const bytes = w.strings === 'bytes' ? latin1Bytes(v, name, w.offset) : utf8.encode(v);
      checkLength(bytes.byteLength, max, name, w.offset);
      w.uint(bytes.byteLength);
      w.bytes(bytes);
    },
    (r) => {
      const bytes = r.bytes(lengthPrefix(r, max, name));
      if (r.strings === 'bytes') return Buffer.from(bytes).toString('latin1');
      try {
        return strictUtf8.decode(bytes);
      } catch {
        throw new XdrError('XDR_INVALID', `${name} is not valid UTF-8`, r.offset);
      }
    },
  );
}

/** A byte string's bytes; a character above U+00FF is not a byte. */
function latin1Bytes(v: string, name: string, offset: number): Uint8Array {
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\xff]/.test(v)) {
    throw new XdrError(
      'XDR_INVALID',
      `${name} has a character above U+00FF (strings are bytes)`,
      offset,
    );
  }
  return Buffer.from(v, 'latin1');
}

/** `type name[n]`: exactly n elements, no length on the wire. */
export function fixedArray<T>(element: Codec<T>, n: number): Codec<T[]> {
  const name = `${element.name}[${n}]`;
  return codec(
    name,
    (w, v) => {
      if (v.length !== n) {
        throw new XdrError('XDR_INVALID', `${name} given ${v.length} elements`, w.offset);
      }
      v.forEach((item, i) => at(`[${i}]`, () => element.encode(w, item)));
    },
    (r) => {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(at(`[${i}]`, () => element.decode(r)));
      return out;
    },
  );
}

/** `type name<max>`: a count, then the elements. */
export function array<T>(element: Codec<T>, max = UNBOUNDED): Codec<T[]> {
  const name = max === UNBOUNDED ? `${element.name}<>` : `${element.name}<${max}>`;
  return codec(
    name,
    (w, v) => {
      checkLength(v.length, max, name, w.offset);
      w.uint(v.length);
      v.forEach((item, i) => at(`[${i}]`, () => element.encode(w, item)));
    },
    (r) => {
      const offset = r.offset;
      const n = r.uint();
      if (n > max) {
        throw new XdrError(
          'XDR_OVERSIZE',
          `${name} length ${n} exceeds the maximum ${max}`,
          offset,
        );
      }
      // Every XDR element takes at least 4 bytes, except void: refuse counts the input can't hold.
      if (element !== (xvoid as unknown) && n * 4 > r.remaining) {
        throw new XdrError(
          'XDR_TRUNCATED',
          `input truncated: ${name} of ${n} elements at offset ${offset}, only ${r.remaining} bytes left`,
          offset,
        );
      }
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(at(`[${i}]`, () => element.decode(r)));
      return out;
    },
  );
}

/** `type *name`: optional data, a bool then the value if present. Absent is `null`. */
export function optional<T>(element: Codec<T>): Codec<T | null> {
  return codec(
    `*${element.name}`,
    (w, v) => {
      if (v === null) {
        w.uint(0);
      } else {
        w.uint(1);
        element.encode(w, v);
      }
    },
    (r) => {
      const offset = r.offset;
      const present = r.uint();
      if (present === 0) return null;
      if (present !== 1) {
        throw new XdrError(
          'XDR_INVALID',
          `optional-data flag must be 0 or 1, got ${present}`,
          offset,
        );
      }
      return element.decode(r);
    },
  );
}

/**
 * `struct name { ... }`: the fields in the order given. The value type follows the field codecs:
 * `struct('point', { x: int, y: int })` is a `Codec<{ x: number; y: number }>`.
 */
export function struct<T extends object>(
  name: string,
  fields: { [K in keyof T]: Codec<T[K]> },
): Codec<T> {
  const entries = Object.entries(fields) as [keyof T & string, Codec<T[keyof T & string]>][];
  return codec(
    name,
    (w, v) => {
      for (const [key, field] of entries) at(`${name}.${key}`, () => field.encode(w, v[key]));
    },
    (r) => {
      const out: Partial<T> = {};
      for (const [key, field] of entries) out[key] = at(`${name}.${key}`, () => field.decode(r));
      return out as T;
    },
  );
}

/** A value of a discriminated union: which arm, and that arm's value. */
export type UnionValue<Arms> = {
  [K in keyof Arms]: { readonly tag: K; readonly value: Arms[K] };
}[keyof Arms];

/**
 * `union name switch (int tag) { case 1: ...; default: ...; }`: the discriminant, then the arm it
 * selects. Arms are keyed by discriminant value; `xvoid` for an empty arm. A discriminant with no
 * arm of its own takes `defaultArm` when there is one, and is an error otherwise.
 */
/** The value of a union's `default:` arm (none when the union has no default arm). */
export type DefaultArmValue<D> = [D] extends [never]
  ? never
  : { readonly tag: number; readonly value: D };

export function union<Arms extends Record<number, unknown>, D = never>(
  name: string,
  arms: { [K in keyof Arms]: Codec<Arms[K]> },
  defaultArm?: Codec<D>,
): Codec<UnionValue<Arms> | DefaultArmValue<D>> {
  const table = arms as Record<number, Codec<unknown> | undefined>;
  const arm = (tag: number, offset: number): Codec<unknown> => {
    const found = table[tag] ?? defaultArm;
    if (found === undefined) {
      throw new XdrError(
        'XDR_INVALID',
        `${tag} is not a valid discriminant of union ${name}`,
        offset,
      );
    }
    return found;
  };
  return codec(
    name,
    (w, v) => {
      const tag = Number(v.tag);
      const c = arm(tag, w.offset);
      w.int(tag);
      at(`${name}<${tag}>`, () => c.encode(w, v.value));
    },
    (r) => {
      const offset = r.offset;
      const tag = r.int();
      const value = at(`${name}<${tag}>`, () => arm(tag, offset).decode(r));
      return { tag, value } as UnionValue<Arms> | DefaultArmValue<D>;
    },
  );
}

/**
 * A codec defined later, for recursive types (`struct entry { ...; entry *next; }`): `make` is
 * called once, on first use.
 */
export function lazy<T>(name: string, make: () => Codec<T>): Codec<T> {
  let inner: Codec<T> | null = null;
  const get = (): Codec<T> => (inner ??= make());
  return codec(
    name,
    (w, v) => get().encode(w, v),
    (r) => get().decode(r),
  );
}

/** A codec that maps values on the way in and out, e.g. bytes to a UUID string. */
export function mapped<Wire, T>(
  inner: Codec<Wire>,
  name: string,
  fromWire: (wire: Wire) => T,
  toWire: (value: T) => Wire,
): Codec<T> {
  return codec(
    name,
    (w, v) => inner.encode(w, toWire(v)),
    (r) => fromWire(inner.decode(r)),
  );
}

/** Encode one value into a fresh buffer. */
export function encode<T>(c: Codec<T>, value: T): Uint8Array {
  const w = new XdrWriter();
  c.encode(w, value);
  return w.finish();
}

/** Decode one value that must fill the whole buffer. */
export function decode<T>(c: Codec<T>, data: Uint8Array): T {
  const r = new XdrReader(data);
  const value = c.decode(r);
  if (r.remaining !== 0) {
    throw new XdrError(
      'XDR_TRAILING',
      `${r.remaining} bytes left over after decoding ${c.name}`,
      r.offset,
    );
  }
  return value;
}
