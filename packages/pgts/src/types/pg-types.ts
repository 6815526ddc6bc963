// The one table that decides how a PostgreSQL value becomes a JavaScript value. Both the
// generated declarations (codegen) and the runtime conversion read it, so the type tsc sees
// is the type the program gets.

/** How a scalar value is represented in JavaScript. */
export type ValueKind =
  | 'int' // int2, int4, oid: number
  | 'int8' // int8: string by default (exact), or bigint / number by option
  | 'float' // float4, float8: number
  | 'numeric' // numeric: string (exact decimal)
  | 'bool' // boolean
  | 'text' // text and everything printed as text (uuid, time, interval, inet...)
  | 'bytea' // Uint8Array (a Buffer with node-postgres)
  | 'date' // date: 'YYYY-MM-DD' string by default, or Date by option
  | 'timestamp' // timestamp: Date (read as UTC)
  | 'timestamptz' // timestamptz: Date
  | 'json'; // json, jsonb: parsed JSON

export type Int8Mode = 'string' | 'bigint' | 'number';
export type DateMode = 'string' | 'Date';

const KINDS: Record<string, ValueKind> = {
  int2: 'int',
  int4: 'int',
  oid: 'int',
  int8: 'int8',
  float4: 'float',
  float8: 'float',
  numeric: 'numeric',
  bool: 'bool',
  bytea: 'bytea',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  json: 'json',
  jsonb: 'json',
};

/** The value kind of a base type by its name in pg_catalog; anything unknown is text. */
export function valueKind(typeName: string): ValueKind {
  return KINDS[typeName] ?? 'text';
}

/** Built-in type OIDs (stable across PostgreSQL versions), so the runtime rarely asks. */
export const BUILTIN_TYPES: ReadonlyMap<number, string> = new Map([
  [16, 'bool'],
  [17, 'bytea'],
  [18, 'char'],
  [19, 'name'],
  [20, 'int8'],
  [21, 'int2'],
  [23, 'int4'],
  [25, 'text'],
  [26, 'oid'],
  [114, 'json'],
  [142, 'xml'],
  [650, 'cidr'],
  [700, 'float4'],
  [701, 'float8'],
  [790, 'money'],
  [829, 'macaddr'],
  [869, 'inet'],
  [1042, 'bpchar'],
  [1043, 'varchar'],
  [1082, 'date'],
  [1083, 'time'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [1186, 'interval'],
  [1266, 'timetz'],
  [1700, 'numeric'],
  [2278, 'void'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
]);

/** Built-in array type OIDs and their element type OIDs. */
export const BUILTIN_ARRAYS: ReadonlyMap<number, number> = new Map([
  [1000, 16],
  [1001, 17],
  [1002, 18],
  [1003, 19],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1028, 26],
  [199, 114],
  [1021, 700],
  [1022, 701],
  [1014, 1042],
  [1015, 1043],
  [1182, 1082],
  [1183, 1083],
  [1115, 1114],
  [1185, 1184],
  [1187, 1186],
  [1270, 1266],
  [1231, 1700],
  [2951, 2950],
  [3807, 3802],
  [651, 650],
  [1041, 869],
]);

/** The TypeScript type of a value kind under the chosen modes. */
export function tsTypeOfKind(kind: ValueKind, int8: Int8Mode, date: DateMode): string {
  switch (kind) {
    case 'int':
    case 'float':
      return 'number';
    case 'int8':
      return int8;
    case 'numeric':
    case 'text':
      return 'string';
    case 'bool':
      return 'boolean';
    case 'bytea':
      return 'Uint8Array';
    case 'date':
      return date === 'Date' ? 'Date' : 'string';
    case 'timestamp':
    case 'timestamptz':
      return 'Date';
    case 'json':
      return 'Json';
  }
}
