import type { Location } from './ast.js';

/** A syntax or meaning error in an XDR specification, with the file position. */
export class XdrSpecError extends Error {
  override readonly name = 'XdrSpecError';
  constructor(
    readonly detail: string,
    readonly at: Location,
    readonly file = '<input>',
  ) {
    super(`${file}:${at.line}:${at.column}: ${detail}`);
  }

  /** The same error, naming the file it came from. */
  inFile(file: string): XdrSpecError {
    return new XdrSpecError(this.detail, this.at, file);
  }
}

export interface Token {
  readonly kind: 'ident' | 'number' | 'punct' | 'eof';
  readonly text: string;
  /** The number's value (number tokens only). */
  readonly value: number;
  readonly at: Location;
  /** Comments on the lines before the token. */
  readonly comment: string | null;
  /** A comment after the token on the same line, like `A = 1, /* why *\/`. */
  trailing: string | null;
}

const PUNCTUATION = new Set(['{', '}', '[', ']', '<', '>', '(', ')', ';', ':', ',', '=', '*']);

/** Strips comment markers and the leading ` * ` of each line of a block comment. */
function commentText(raw: string): string {
  return raw
    .replace(/^\/\*+|\*+\/$/g, '')
    .replace(/^\/\/+/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*?\s?/, '').trimEnd())
    .join('\n')
    .trim();
}

/**
 * Splits an XDR specification into tokens. Comments (`/* *\/` and `//`) are attached to the next
 * token, so that definitions keep their documentation. Lines starting with `%` (rpcgen's
 * pass-through to C) and `#` (preprocessor lines) are skipped.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let comments: string[] = [];
  const here = (): Location => ({ line, column: pos - lineStart + 1 });
  const advance = (to: number): void => {
    for (let i = pos; i < to; i++) {
      if (source.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    pos = to;
  };
  const take = (): string | null => {
    const comment = comments.length > 0 ? comments.join('\n') : null;
    comments = [];
    return comment;
  };
  const push = (kind: Token['kind'], text: string, at: Location, value = 0): void => {
    tokens.push({ kind, text, value, at, comment: take(), trailing: null });
  };
  /** A comment that starts on the line of the previous token belongs to that token. */
  const addComment = (text: string, startLine: number): void => {
    const previous = tokens.at(-1);
    if (previous !== undefined && previous.at.line === startLine && comments.length === 0) {
      previous.trailing = previous.trailing === null ? text : `${previous.trailing}\n${text}`;
    } else {
      comments.push(text);
    }
  };

  while (pos < source.length) {
    const c = source[pos]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f') {
      advance(pos + 1);
      continue;
    }
    const atLineStart = source.slice(lineStart, pos).trim() === '';
    if (atLineStart && (c === '%' || c === '#')) {
      const end = source.indexOf('\n', pos);
      advance(end === -1 ? source.length : end);
      continue;
    }
    if (source.startsWith('/*', pos)) {
      const end = source.indexOf('*/', pos + 2);
      if (end === -1) throw new XdrSpecError('comment is never closed (missing */)', here());
      addComment(commentText(source.slice(pos, end + 2)), line);
      advance(end + 2);
      continue;
    }
    if (source.startsWith('//', pos)) {
      const end = source.indexOf('\n', pos);
      const stop = end === -1 ? source.length : end;
      addComment(commentText(source.slice(pos, stop)), line);
      advance(stop);
      continue;
    }
    const at = here();
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(pos, pos + 256));
    if (ident) {
      push('ident', ident[0], at);
      advance(pos + ident[0].length);
      continue;
    }
    const num = /^-?(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(source.slice(pos, pos + 64));
    if (num) {
      push('number', num[0], at, parseNumber(num[0], at));
      advance(pos + num[0].length);
      continue;
    }
    if (PUNCTUATION.has(c)) {
      push('punct', c, at);
      advance(pos + 1);
      continue;
    }
    throw new XdrSpecError(`unexpected character ${JSON.stringify(c)}`, at);
  }
  push('eof', '', here());
  return tokens;
}

/** Decimal, hexadecimal (0x) or octal (leading 0) constants, as RFC 4506 section 6.3 allows. */
function parseNumber(text: string, at: Location): number {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  const magnitude = /^0[xX]/.test(digits)
    ? Number.parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith('0')
      ? Number.parseInt(digits, 8)
      : Number.parseInt(digits, 10);
  if (Number.isNaN(magnitude) || (/^0[0-9]/.test(digits) && /[89]/.test(digits)))
    throw new XdrSpecError(`${text} is not a valid number`, at);
  if (!Number.isSafeInteger(magnitude)) {
    throw new XdrSpecError(`${text} is too large for this compiler (more than 53 bits)`, at);
  }
  return negative ? -magnitude : magnitude;
}
