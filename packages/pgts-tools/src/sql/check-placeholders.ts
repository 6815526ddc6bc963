// The run-time rewriter of named placeholders is a small lexer of its own (it must run
// without the parser). For every query it describes, pgts checks the rewriter's work against
// PostgreSQL's lexer: the $n it wrote must be exactly the parameters PostgreSQL finds, none
// of them inside a string, a quoted identifier or a comment.
import type { RewrittenSql } from '@tsvirt/pgts';
import { DescribeError } from '../errors.js';
import { parameterNumbers } from './parser.js';

export async function checkPlaceholders(rewritten: RewrittenSql): Promise<void> {
  const found = await parameterNumbers(rewritten.text);
  if (found.join(',') === rewritten.occurrences.join(',')) return;
  const list = (numbers: number[]): string =>
    numbers.length === 0 ? 'none' : numbers.map((n) => `$${n}`).join(', ');
  throw new DescribeError(
    `pgts read the placeholders of this query differently from PostgreSQL's lexer ` +
      `(pgts wrote ${list(rewritten.occurrences)}, PostgreSQL sees ${list(found)}); ` +
      `please report it with the query`,
    0,
    undefined,
  );
}
