// PostgreSQL's own parser (libpg_query compiled to WebAssembly, the libpg-query package):
// whenever pgts has to understand SQL text, a query or a view's definition, it reads the
// parse tree PostgreSQL itself would build, never a guess from the characters.
import { endianness } from 'node:os';
import type * as LibPgQuery from 'libpg-query';
import type { Node } from 'libpg-query';

export type { Node } from 'libpg-query';

/**
 * Whether the parser runs on this host. Its WebAssembly glue reads the module's memory
 * through typed arrays in the host's byte order, as PGlite's does, so on a big-endian host
 * (s390x) it would read garbage: there pgts does without it (see the README).
 */
export function parserRunsHere(hostEndianness: 'BE' | 'LE' = endianness()): boolean {
  return hostEndianness === 'LE';
}

let library: Promise<typeof LibPgQuery> | undefined;

/** Loaded on first use (it instantiates its WebAssembly module when imported). */
function libpgQuery(): Promise<typeof LibPgQuery> {
  library ??= import('libpg-query');
  return library;
}

/** The one statement `sql` holds, or undefined when it is not exactly one statement. */
export async function parseStatement(sql: string): Promise<Node | undefined> {
  const { stmts } = await (await libpgQuery()).parse(sql);
  return stmts?.length === 1 ? stmts[0]?.stmt : undefined;
}

/** The numbers of the `$n` parameters PostgreSQL's lexer finds in `sql`, in order. */
export async function parameterNumbers(sql: string): Promise<number[]> {
  const { tokens } = await (await libpgQuery()).scan(sql);
  return tokens.filter((t) => t.tokenName === 'PARAM').map((t) => Number(t.text.slice(1)));
}
