// Named placeholders, PG'OCaml style, rewritten into PostgreSQL's positional ones:
//   $name   required parameter
//   $?name  optional parameter: undefined or null binds NULL
//   $@names a list, bound as ONE array parameter; `IN ($@ids)` becomes `= any($n)` and
//           `NOT IN ($@ids)` becomes `<> all($n)`, so the statement text never depends on
//           the list's length (one prepared statement for every length).
// Strings (E'...' escapes included), quoted identifiers, comments and dollar-quoted bodies
// are copied untouched. This runs at run time, so it is a small lexer of its own; `pgts
// generate` checks every query's result against PostgreSQL's lexer (pgts-tools).
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
  /** The index of every `$n` written into `text`, in order. */
  occurrences: number[];
  /** Maps a 0-based offset in `text` back to the 0-based offset in the SQL as written. */
  originalOffset(offset: number): number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
/** `IN (` or `NOT IN (` just before a list placeholder... */
const IN_BEFORE = /\b(not\s+)?in\s*\(\s*$/i;
/** ...and `)` just after it. */
const CLOSE_AFTER = /^\s*\)/;

/** Rewrites named placeholders into positional ones. Throws SqlSyntaxError on misuse. */
export function rewritePlaceholders(sql: string): RewrittenSql {
  const params = new Map<string, Placeholder>();
  const occurrences: number[] = [];
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
      copyUntil(endOfQuoted(sql, i, c, c === "'" && isEscapeString(sql, i)));
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
      const { name, kind, end } = readPlaceholder(sql, i);
      let param = params.get(name);
      if (param === undefined) {
        param = { name, kind, index: params.size + 1 };
        params.set(name, param);
      } else if (param.kind !== kind) {
        throw new SqlSyntaxError(
          `parameter ${name} is used both as ${describeKind(param.kind)} and as ${describeKind(kind)}`,
          i,
        );
      }
      i = end;
      const inList = kind === 'list' ? IN_BEFORE.exec(out) : null;
      const closing = inList === null ? null : CLOSE_AFTER.exec(sql.slice(i));
      if (inList !== null && closing !== null) {
        out = out.slice(0, inList.index);
        out += `${inList[1] === undefined ? '= any' : '<> all'}($${param.index})`;
        i += closing[0].length;
      } else {
        out += `$${param.index}`;
      }
      occurrences.push(param.index);
      anchors.push([out.length, i]);
    } else {
      copyUntil(i + 1);
    }
  }

  return {
    text: out,
    params: [...params.values()],
    occurrences,
    originalOffset(offset: number): number {
      let best: [number, number] = [0, 0];
      for (const anchor of anchors) if (anchor[0] <= offset) best = anchor;
      return Math.min(best[1] + (offset - best[0]), sql.length);
    },
  };
}

function readPlaceholder(
  sql: string,
  start: number,
): { name: string; kind: ParamKind; end: number } {
  let kind: ParamKind = 'required';
  let j = start + 1;
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
    throw new SqlSyntaxError('a $ must start a named parameter such as $id, $?id or $@ids', start);
  }
  let end = j;
  while (end < sql.length && IDENT_PART.test(sql[end] ?? '')) end++;
  return { name: sql.slice(j, end), kind, end };
}

function describeKind(kind: ParamKind): string {
  return kind === 'required' ? '$name' : kind === 'optional' ? '$?name' : '$@name';
}

/** `E'...'`: a string in which a backslash escapes the next character, quotes included. */
function isEscapeString(sql: string, quote: number): boolean {
  const prefix = sql[quote - 1];
  return (prefix === 'E' || prefix === 'e') && !IDENT_PART.test(sql[quote - 2] ?? '');
}

function endOfQuoted(sql: string, start: number, quote: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (backslashes && sql[i] === '\\') {
      i += 2;
      continue;
    }
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
