// A reader for PostgreSQL's text output of records (composite values); arrays are read by
// postgres-array, as node-postgres does.

/** Splits a record `(1,"a b",)` into its field texts; an empty unquoted field is NULL. */
export function parseRecord(text: string): Array<string | null> {
  const fields: Array<string | null> = [];
  let at = 1;
  if (text === '()') return fields;
  for (;;) {
    let value: string | null = null;
    if (text[at] === '"') {
      value = '';
      at++;
      for (;;) {
        const c = text[at];
        if (c === undefined) break;
        if (c === '\\') {
          value += text[at + 1] ?? '';
          at += 2;
        } else if (c === '"') {
          if (text[at + 1] === '"') {
            value += '"';
            at += 2;
          } else {
            at++;
            break;
          }
        } else {
          value += c;
          at++;
        }
      }
    } else {
      let end = at;
      while (end < text.length && text[end] !== ',' && text[end] !== ')') end++;
      if (end > at) value = text.slice(at, end);
      at = end;
    }
    fields.push(value);
    if (text[at] === ',') {
      at++;
      continue;
    }
    return fields;
  }
}
