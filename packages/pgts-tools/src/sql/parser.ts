// PostgreSQL's own parser (libpg_query compiled to WebAssembly, the libpg-query package):
// whenever pgts has to understand SQL text, a query or a view's definition, it reads the
// parse tree PostgreSQL itself would build, never a guess from the characters.
import { parse, scan, type Node } from 'libpg-query';

export type { Node } from 'libpg-query';

/** The one statement `sql` holds, or undefined when it is not exactly one statement. */
export async function parseStatement(sql: string): Promise<Node | undefined> {
  const { stmts } = await parse(sql);
  return stmts?.length === 1 ? stmts[0]?.stmt : undefined;
}

/** The numbers of the `$n` parameters PostgreSQL's lexer finds in `sql`, in order. */
export async function parameterNumbers(sql: string): Promise<number[]> {
  const { tokens } = await scan(sql);
  return tokens.filter((t) => t.tokenName === 'PARAM').map((t) => Number(t.text.slice(1)));
}
