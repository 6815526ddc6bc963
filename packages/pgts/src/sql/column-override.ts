/** `"name!"` forces non-null, `"name?"` forces nullable (the sqlx convention). */
export function splitOverride(column: string): { name: string; override?: '!' | '?' } {
  const last = column.at(-1);
  if ((last === '!' || last === '?') && column.length > 1) {
    return { name: column.slice(0, -1), override: last };
  }
  return { name: column };
}
