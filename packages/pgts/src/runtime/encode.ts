// Parameter values as PostgreSQL text input, for drivers that bind text parameters
// themselves (PGlite through the raw protocol).

const JSON_TYPES = new Set([114, 3802]);

/** The text form of `value` for a parameter of type `typeOid` (null for SQL NULL). */
export function encodeParameter(value: unknown, typeOid: number | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeOid !== undefined && JSON_TYPES.has(typeOid)) {
    // A JS string is taken as JSON text already (as node-postgres does); anything else is
    // serialized, arrays included.
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  return encodeValue(value);
}

function encodeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

/** `{1,"a b",NULL,{2,3}}`: every element quoted, so commas, quotes and braces are safe. */
function arrayLiteral(items: unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayLiteral(item);
    return `"${encodeValue(item).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  });
  return `{${parts.join(',')}}`;
}
