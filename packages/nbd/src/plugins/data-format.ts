// The subset of nbdkit-data-plugin's `data=` language this server understands:
//   bytes     1 0x55 0377            each number is one byte (decimal, hex, octal)
//   "text"    the UTF-8 bytes of a string (escapes \n \t \\ \" \xHH)
//   @N @+N    move to absolute offset N, or forward by N bytes
//   X*N       repeat the previous byte, string or ( group ) N times
//   ( ... )   a group
import { ConfigError } from '../errors.js';

export interface Placed {
  offset: number;
  bytes: Buffer;
}

type Token = { kind: 'bytes'; value: Buffer } | { kind: 'at'; value: number; relative: boolean };

function fail(text: string, at: number, why: string): never {
  throw new ConfigError(`data: ${why} at character ${at + 1} of "${text}"`);
}

function parseGroup(text: string, start: number, closing: boolean): [Token[], number] {
  const tokens: Token[] = [];
  let i = start;
  const lastBytes = () => {
    const last = tokens[tokens.length - 1];
    if (!last || last.kind !== 'bytes') fail(text, i, '"*" must follow bytes, a string or a group');
    return last;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === ')') {
      if (!closing) fail(text, i, 'unbalanced ")"');
      return [tokens, i + 1];
    } else if (c === '(') {
      const [inner, next] = parseGroup(text, i + 1, true);
      if (inner.some((t) => t.kind === 'at')) fail(text, i, '"@" inside a group is not supported');
      tokens.push({ kind: 'bytes', value: Buffer.concat(inner.map((t) => t.value as Buffer)) });
      i = next;
    } else if (c === '*') {
      const m = /^\*\s*(\d+)/.exec(text.slice(i));
      if (!m) fail(text, i, 'expected a count after "*"');
      const last = lastBytes();
      last.value = Buffer.concat(Array<Buffer>(Number(m[1])).fill(last.value));
      i += m[0].length;
    } else if (c === '@') {
      const m = /^@(\+?)(0x[0-9a-f]+|\d+)/i.exec(text.slice(i));
      if (!m) fail(text, i, 'expected an offset after "@"');
      tokens.push({ kind: 'at', value: Number(m[2]), relative: m[1] === '+' });
      i += m[0].length;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          const e = text[j + 1];
          if (e === 'x') {
            s += String.fromCharCode(parseInt(text.slice(j + 2, j + 4), 16));
            j += 4;
            continue;
          }
          s += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
          j += 2;
        } else {
          s += text[j];
          j++;
        }
      }
      if (j >= text.length) fail(text, i, 'unterminated string');
      tokens.push({ kind: 'bytes', value: Buffer.from(s, 'latin1') });
      i = j + 1;
    } else {
      const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)/i.exec(text.slice(i));
      if (!m) fail(text, i, `unexpected "${c}"`);
      const value =
        m[1]!.startsWith('0x') || m[1]!.startsWith('0X')
          ? Number(m[1])
          : m[1]!.length > 1 && m[1]!.startsWith('0')
            ? parseInt(m[1]!, 8)
            : Number(m[1]);
      if (value > 255) fail(text, i, `byte ${m[1]} is larger than 255`);
      tokens.push({ kind: 'bytes', value: Buffer.from([value]) });
      i += m[0].length;
    }
  }
  if (closing) fail(text, i, 'missing ")"');
  return [tokens, i];
}

/** Returns the byte runs the expression places on the disk, and where it ends. */
export function parseData(text: string): { placed: Placed[]; end: number } {
  const [tokens] = parseGroup(text, 0, false);
  const placed: Placed[] = [];
  let at = 0;
  let end = 0;
  for (const t of tokens) {
    if (t.kind === 'at') at = t.relative ? at + t.value : t.value;
    else {
      placed.push({ offset: at, bytes: t.value });
      at += t.value.length;
    }
    end = Math.max(end, at);
  }
  return { placed, end };
}
