// A tokenizer for the expressions PostgreSQL prints in EXPLAIN VERBOSE output lists
// (deparsed SQL such as `COALESCE(c.name, 'x'::text)` or `(h.id + 1)`).

export type TokenKind = 'ident' | 'quoted' | 'string' | 'number' | 'param' | 'op' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Identifiers are lower-cased unless quoted; quoted identifiers lose their quotes. */
  text: string;
}

const OPERATOR_CHARS = /[+\-*/<>=~!@#%^&|`?]/;

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || ((c === 'E' || c === 'e') && expr[i + 1] === "'")) {
      let j = c === "'" ? i + 1 : i + 2;
      for (; j < expr.length; j++) {
        if (expr[j] === '\\' && c !== "'") j++;
        else if (expr[j] === "'") {
          if (expr[j + 1] === "'") j++;
          else break;
        }
      }
      tokens.push({ kind: 'string', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < expr.length; j++) {
        if (expr[j] === '"') {
          if (expr[j + 1] === '"') {
            text += '"';
            j++;
          } else break;
        } else text += expr[j];
      }
      tokens.push({ kind: 'quoted', text });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < expr.length && /[A-Za-z0-9_$]/.test(expr[j] ?? '')) j++;
      tokens.push({ kind: 'ident', text: expr.slice(i, j).toLowerCase() });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i;
      while (j < expr.length && /[0-9.eE]/.test(expr[j] ?? '')) j++;
      tokens.push({ kind: 'number', text: expr.slice(i, j) });
      i = j;
    } else if (c === '$' && /[0-9]/.test(expr[i + 1] ?? '')) {
      let j = i + 1;
      while (j < expr.length && /[0-9]/.test(expr[j] ?? '')) j++;
      tokens.push({ kind: 'param', text: expr.slice(i, j) });
      i = j;
    } else if (c === ':' && expr[i + 1] === ':') {
      tokens.push({ kind: 'punct', text: '::' });
      i += 2;
    } else if (OPERATOR_CHARS.test(c)) {
      let j = i;
      while (j < expr.length && OPERATOR_CHARS.test(expr[j] ?? '')) j++;
      tokens.push({ kind: 'op', text: expr.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}
