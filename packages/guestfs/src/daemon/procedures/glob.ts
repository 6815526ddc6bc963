/**
 * glob_expand: glibc's glob(3) with GLOB_BRACE and GLOB_MARK, as guestfsd calls it in the C
 * locale, over the guest's directories. `*`, `?` and `[...]` (ranges, `!`/`^`, classes such
 * as `[[:digit:]]`) match within one name, a leading `.` only explicitly, `\` escapes;
 * `{a,b}` alternatives are expanded first and each one's matches sorted (bytes) and listed in
 * order; directories get a trailing `/` unless directoryslash is false.
 */
import { type ByteString } from '../bytes.js';
import type { Call } from '../call.js';
import { isErrno, perror } from '../errors.js';
import type { Handlers } from '../handler.js';
import { entries, openDirectory } from '../tree.js';

/** `{a,b}c` → [`ac`, `bc`], nested braces included; an unmatched brace stays literal. */
export function expandBraces(pattern: ByteString): ByteString[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{' && depth++ === 0) open = i;
    else if (c === ',' && depth === 1) commas.push(i);
    else if (c === '}' && depth > 0 && --depth === 0) {
      const before = pattern.slice(0, open);
      const after = pattern.slice(i + 1);
      const cuts = [open, ...commas, i];
      const alternatives = cuts.slice(1).map((end, k) => pattern.slice(cuts[k]! + 1, end));
      return alternatives.flatMap((alt) => expandBraces(before + alt + after));
    }
  }
  return [pattern];
}

const CLASSES: Readonly<Record<string, string>> = {
  alnum: 'A-Za-z0-9',
  alpha: 'A-Za-z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
};

const escapeRegExp = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** One name's pattern as a RegExp over byte strings (fnmatch without FNM_PERIOD's cases). */
export function nameMatcher(pattern: ByteString): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '*') source += '[^]*';
    else if (c === '?') source += '[^]';
    else if (c === '[') {
      const bracket = bracketExpression(pattern, i);
      if (bracket === null) source += '\\[';
      else {
        source += bracket.source;
        i = bracket.end;
      }
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

/** `[...]` starting at `start`: its RegExp class and where it ends, or null if unterminated. */
function bracketExpression(
  pattern: ByteString,
  start: number,
): { source: string; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  for (let first = true; i < pattern.length; first = false, i++) {
    const c = pattern[i]!;
    if (c === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, end: i };
    const cls = /^\[:([a-z]+):\]/.exec(pattern.slice(i));
    if (cls !== null && CLASSES[cls[1]!] !== undefined) {
      body += CLASSES[cls[1]!]!;
      i += cls[0].length - 1;
    } else if (c === '\\' && i + 1 < pattern.length) {
      body += escapeRegExp(pattern[++i]!);
    } else if (c === '-' && body !== '' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
      body += '-';
    } else body += escapeRegExp(c);
  }
  return null;
}

const hasMagic = (component: ByteString): boolean => /(^|[^\\])[*?[]/.test(component);
const unescape = (component: ByteString): ByteString => component.replace(/\\(.)/g, '$1');

/** The matches of one brace-free pattern, sorted; directories marked with `/` if asked. */
async function globOne(call: Call, pattern: ByteString, mark: boolean): Promise<ByteString[]> {
  const onlyDirectories = pattern.endsWith('/');
  const components = pattern.split('/').filter((c) => c !== '');
  let paths = ['']; // what matched so far, as the pattern spells it ('' is the root)
  for (const component of components) {
    const next: ByteString[] = [];
    for (const dir of paths) {
      if (!hasMagic(component)) {
        next.push(`${dir}/${unescape(component)}`);
        continue;
      }
      const matcher = nameMatcher(component);
      for (const name of await namesIn(call, dir === '' ? '/' : dir, component.startsWith('.'))) {
        if (matcher.test(name) && (name[0] !== '.' || component.startsWith('.'))) {
          next.push(`${dir}/${name}`);
        }
      }
    }
    paths = next;
  }
  const results: ByteString[] = [];
  for (const path of paths.length === 1 && paths[0] === '' ? ['/'] : paths) {
    const kind = await kindOf(call, path);
    if (kind === null || (onlyDirectories && kind !== 'directory')) continue;
    results.push(
      kind === 'directory' && (mark || onlyDirectories) && path !== '/' ? `${path}/` : path,
    );
  }
  return results.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A directory's names (with `.` and `..` when the pattern may match them); [] if unreadable. */
async function namesIn(call: Call, dir: ByteString, dots: boolean): Promise<ByteString[]> {
  try {
    return await call.sysroot.with(dir, { follow: true }, async (f) => {
      if (f.stat?.isDirectory() !== true) return [];
      const handle = await openDirectory(f.dir, f.name);
      try {
        return [...(dots ? ['.', '..'] : []), ...(await entries(handle))];
      } finally {
        await handle.close();
      }
    });
  } catch (e) {
    if (isErrno(e)) return []; // glob(3) skips what it cannot read
    throw e;
  }
}

/** 'directory' (following symlinks), 'other', or null when nothing is there. */
async function kindOf(call: Call, path: ByteString): Promise<'directory' | 'other' | null> {
  try {
    const follows = await call.sysroot.with(path, { follow: true }, (f) => f.stat);
    if (follows !== null) return follows.isDirectory() ? 'directory' : 'other';
  } catch (e) {
    if (!isErrno(e)) throw e;
  }
  // A dangling symlink still matches (glob(3) checks with lstat).
  try {
    return (await call.sysroot.with(path, { follow: false }, (f) => f.stat)) === null
      ? null
      : 'other';
  } catch (e) {
    if (isErrno(e)) return null;
    throw e;
  }
}

export const globHandlers = {
  glob_expand: async ({ pattern, directoryslash }, call) => {
    const mark = directoryslash ?? true;
    const results: ByteString[] = [];
    try {
      for (const alternative of expandBraces(pattern)) {
        results.push(...(await globOne(call, alternative, mark)));
      }
    } catch (e) {
      throw perror(e, pattern);
    }
    return results;
  },
} satisfies Handlers;
