// Readers for PostgreSQL's text output of arrays and records (composite values).

/** Parses `{1,2,NULL,"a b"}` (and nested `{{1},{2}}`) with `element` for each non-null item. */
export function parseArray<T>(text: string, element: (item: string) => T): unknown[] {
  let at = 0;
  // A leading dimension decoration such as `[0:1]={...}` is skipped.
  if (text[0] === '[') at = text.indexOf('=') + 1;
  const parseLevel = (): unknown[] => {
    const out: unknown[] = [];
    at++; // '{'
    if (text[at] === '}') {
      at++;
      return out;
    }
    for (;;) {
      if (text[at] === '{') {
        out.push(parseLevel());
      } else if (text[at] === '"') {
        let value = '';
        at++;
        while (at < text.length && text[at] !== '"') {
          if (text[at] === '\\') at++;
          value += text[at] ?? '';
          at++;
        }
        at++;
        out.push(element(value));
      } else {
        let end = at;
        while (end < text.length && text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(at, end);
        at = end;
        out.push(raw === 'NULL' ? null : element(raw));
      }
      if (text[at] === ',') {
        at++;
        continue;
      }
      at++; // '}'
      return out;
    }
  };
  return parseLevel();
}

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
