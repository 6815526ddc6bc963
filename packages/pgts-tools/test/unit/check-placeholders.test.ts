import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewritePlaceholders } from '@tsvirt/pgts';
import { DescribeError } from '../../src/errors.js';
import { checkPlaceholders } from '../../src/sql/check-placeholders.js';
import { parserRunsHere } from '../../src/sql/parser.js';

// PostgreSQL's parser does not run on big-endian hosts (see src/sql/parser.ts).
const PARSER = { skip: !parserRunsHere() && 'no parser on a big-endian host' };

void test(
  "the run-time rewriter agrees with PostgreSQL's lexer on tricky SQL",
  PARSER,
  async () => {
    for (const sql of [
      "select E'it\\'s $x', U&'d\\0061t\\+000061 $y', $z /* $a /* nested $b */ $c */ from t",
      'select $$ $a $$, $tag$ $b $tag$, "$c", \'x in ($@d)\' where id in ($@ids) and n = $n',
      "select b'101', x'ff', $a::int -- $b\nfrom t where y = $?y",
    ]) {
      await checkPlaceholders(rewritePlaceholders(sql));
    }
  },
);

void test('a disagreement is an error, not a silently wrong statement', PARSER, async () => {
  const rewritten = rewritePlaceholders('select $a, $b');
  await assert.rejects(
    checkPlaceholders({ ...rewritten, text: "select $1, '$2'" }),
    (e: unknown) =>
      e instanceof DescribeError && /pgts wrote \$1, \$2, PostgreSQL sees \$1/.test(e.message),
  );
});
