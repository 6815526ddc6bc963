// Named placeholders, PG'OCaml style, rewritten into PostgreSQL's positional ones:
//   $name   required parameter
//   $?name  optional parameter: undefined or null binds NULL
//   $@names a list, bound as ONE array parameter; `IN ($@ids)` becomes `= any($n)` and
//           `NOT IN ($@ids)` becomes `<> all($n)`, so the statement text never depends on
//           the list's length (one prepared statement for every length).
// Strings, quoted identifiers, comments and dollar-quoted bodies are copied untouched.
import { SqlSyntaxError } from '../errors.js';

export type ParamKind = 'required' | 'optional' | 'list';

export interface Placeholder {
  name: string;
  kind: ParamKind;
  /** 1-based position in the rewritten SQL ($1, $2...). */
  index: number;
}

export interface RewrittenSql {
  /** The SQL PostgreSQL sees, with $1, $2... */
  text: string;
  /** One entry per distinct name, in order of first appearance. */
  params: Placeholder[];
  /** Maps a 0-based offset in `text` back to the 0-based offset in the SQL as written. */
  originalOffset(offset: number): number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/** Rewrites named placeholders into positional ones. Throws SqlSyntaxError on misuse. */
export function rewritePlaceholders(sql: string): RewrittenSql {
  const params = new Map<string, Placeholder>();
  let out = '';
  // Pairs of (offset in out, offset in sql) where copying resumed after a replacement.
  const anchors: Array<[number, number]> = [[0, 0]];
  let i = 0;
  const copyUntil = (end: number): void => {
    out += sql.slice(i, end);
    i = end;
  };

  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      copyUntil(endOfQuoted(sql, i, c));
    } else if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      copyUntil(nl === -1 ? sql.length : nl);
    } else if (c === '/' && next === '*') {
      copyUntil(endOfBlockComment(sql, i));
    } else if (c === '$') {
      const tag = dollarQuoteTag(sql, i);
      if (tag !== undefined) {
        const close = sql.indexOf(tag, i + tag.length);
        if (close === -1) throw new SqlSyntaxError(`unterminated dollar-quoted string ${tag}`, i);
        copyUntil(close + tag.length);
        continue;
      }
      const start = i;
      let kind: ParamKind = 'required';
      let j = i + 1;
      if (sql[j] === '?') {
        kind = 'optional';
        j++;
      } else if (sql[j] === '@') {
        kind = 'list';
        j++;
      }
      if (/[0-9]/.test(sql[j] ?? '')) {
        throw new SqlSyntaxError(
          'positional parameters ($1) are not allowed: name them ($id) so the call is checked by name',
          start,
        );
      }
      if (!IDENT_START.test(sql[j] ?? '')) {
        throw new SqlSyntaxError(
          'a $ must start a named parameter such as $id, $?id or $@ids',
          start,
        );
      }
      let end = j;
      while (end < sql.length && IDENT_PART.test(sql[end] ?? '')) end++;
      const name = sql.slice(j, end);
      let param = params.get(name);
      if (param === undefined) {
        param = { name, kind, index: params.size + 1 };
        params.set(name, param);
      } else if (param.kind !== kind) {
        throw new SqlSyntaxError(
          `parameter ${name} is used both as ${describeKind(param.kind)} and as ${describeKind(kind)}`,
          start,
        );
      }
      out += `$${param.index}`;
      i = end;
      anchors.push([out.length, end]);
    } else {
      copyUntil(i + 1);
    }
  }

  const { text, anchors: finalAnchors } = rewriteInLists(out, anchors, params);
  return {
    text,
    params: [...params.values()],
    originalOffset(offset: number): number {
      let best: [number, number] = [0, 0];
      for (const anchor of finalAnchors) if (anchor[0] <= offset) best = anchor;
      return Math.min(best[1] + (offset - best[0]), sql.length);
    },
  };
}

function describeKind(kind: ParamKind): string {
  return kind === 'required' ? '$name' : kind === 'optional' ? '$?name' : '$@name';
}

/** `IN ($n)` for a list parameter becomes `= any($n)`; `NOT IN` becomes `<> all`. */
function rewriteInLists(
  text: string,
  anchors: Array<[number, number]>,
  params: Map<string, Placeholder>,
): { text: string; anchors: Array<[number, number]> } {
  const lists = new Set([...params.values()].filter((p) => p.kind === 'list').map((p) => p.index));
  if (lists.size === 0) return { text, anchors };
  let result = '';
  let copied = 0;
  let shifted = anchors;
  for (const match of text.matchAll(/\b(not\s+)?in\s*\(\s*\$(\d+)\s*\)/gi)) {
    if (!lists.has(Number(match[2]))) continue;
    const replacement = `${match[1] === undefined ? '= any' : '<> all'}($${match[2]})`;
    result += text.slice(copied, match.index) + replacement;
    copied = match.index + match[0].length;
    const at = result.length - replacement.length;
    const delta = replacement.length - match[0].length;
    shifted = shifted.map(([o, s]): [number, number] => (o > at ? [o + delta, s] : [o, s]));
  }
  return { text: result + text.slice(copied), anchors: shifted };
}

function endOfQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** `$$` or `$tag$` at `start`, or undefined when the $ is not a dollar quote. */
function dollarQuoteTag(sql: string, start: number): string | undefined {
  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64));
  // `$name$` could only be a placeholder followed by `$`, which is never valid SQL.
  return match?.[0];
}
