/**
 * libvirt's typed parameters (virTypedParameter: a field name, a type, a value), as TypeScript
 * callers give and get them: a Map from field to plain value when received, and a record of
 * plain or explicitly typed values when sent.
 */
import { TYPED_PARAM_FIELD_TYPES, TypedParameterType } from './constants.generated.js';
import type { TypedParam } from './protocol/remote.generated.js';

export type TypedParamValue = number | bigint | string | boolean;

/** Typed parameters received, by field name, e.g. 'state.state', 'balloon.current'. */
export type TypedParams = Map<string, TypedParamValue>;

/** A value with libvirt's type spelled out, where the plain value would be ambiguous. */
export type TypedValue =
  | { readonly type: 'int' | 'uint' | 'double'; readonly value: number }
  | { readonly type: 'llong' | 'ullong'; readonly value: bigint }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string };

/**
 * Typed parameters to send, by field name. A plain value takes the type libvirt documents for
 * the field (TYPED_PARAM_FIELD_TYPES: `bandwidth` is an unsigned long long), else the one its
 * JavaScript type suggests (string, boolean; a bigint is an unsigned long long, a negative one
 * a long long; an integer number an int, or an unsigned int above 2^31 - 1; else a double).
 * A list sends the field once per value, as libvirt's string lists do (`migrate_disks`).
 */
export type TypedParamsInput = Readonly<
  Record<string, TypedParamValue | TypedValue | readonly (string | TypedValue)[]>
>;

const TYPE_CODES = {
  int: TypedParameterType.INT,
  uint: TypedParameterType.UINT,
  llong: TypedParameterType.LLONG,
  ullong: TypedParameterType.ULLONG,
  double: TypedParameterType.DOUBLE,
  boolean: TypedParameterType.BOOLEAN,
  string: TypedParameterType.STRING,
} as const;

const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE_CODES).map(([k, v]) => [v, k])) as Record<
  number,
  TypedValue['type']
>;

function typed(field: string, value: TypedParamValue | TypedValue): TypedParam {
  if (typeof value === 'object') return wire(field, value.type, value.value);
  const known = TYPED_PARAM_FIELD_TYPES.get(field);
  if (known !== undefined) return wire(field, TYPE_NAMES[known]!, value);
  if (typeof value === 'string') return wire(field, 'string', value);
  if (typeof value === 'boolean') return wire(field, 'boolean', value);
  if (typeof value === 'bigint') return wire(field, value < 0n ? 'llong' : 'ullong', value);
  if (!Number.isInteger(value)) return wire(field, 'double', value);
  return wire(field, value > 0x7fffffff ? 'uint' : 'int', value);
}

/** The wire form of one parameter, checking that the value fits the type. */
function wire(field: string, type: TypedValue['type'], value: TypedParamValue): TypedParam {
  const bad = (): never => {
    throw new TypeError(
      `typed parameter ${field}: ${typeof value} ${String(value)} is not a valid ${type}`,
    );
  };
  switch (type) {
    case 'int':
    case 'uint':
    case 'double':
      if (typeof value === 'number') return { field, value: { tag: TYPE_CODES[type], value } };
      if (typeof value === 'bigint' && type !== 'double') {
        return { field, value: { tag: TYPE_CODES[type], value: Number(value) } };
      }
      return bad();
    case 'llong':
    case 'ullong':
      if (typeof value === 'bigint') return { field, value: { tag: TYPE_CODES[type], value } };
      if (typeof value === 'number' && Number.isInteger(value)) {
        return { field, value: { tag: TYPE_CODES[type], value: BigInt(value) } };
      }
      return bad();
    case 'boolean':
      // libvirt sends a boolean as an int.
      if (typeof value === 'boolean') {
        return { field, value: { tag: TYPE_CODES.boolean, value: value ? 1 : 0 } };
      }
      return bad();
    case 'string':
      if (typeof value === 'string') return { field, value: { tag: TYPE_CODES.string, value } };
      return bad();
  }
}

export function toTypedParams(params: TypedParamsInput): TypedParam[] {
  const out: TypedParam[] = [];
  for (const [field, value] of Object.entries(params)) {
    if (Array.isArray(value))
      for (const v of value as (string | TypedValue)[]) out.push(typed(field, v));
    else out.push(typed(field, value as TypedParamValue | TypedValue));
  }
  return out;
}

export function fromTypedParams(params: readonly TypedParam[]): TypedParams {
  return new Map(
    params.map((p) => [
      p.field,
      // Any non-zero int is true, as libvirt itself reads it.
      p.value.tag === TypedParameterType.BOOLEAN ? p.value.value !== 0 : p.value.value,
    ]),
  );
}
