// The nullability analysis on PostgreSQL's parse trees with a catalog described by hand;
// the integration tests run it against PGlite and PostgreSQL 15.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nonNullColumns, type RelationFacts, type SqlFacts } from '../../src/infer/nullability.js';
import { parserRunsHere, parseStatement } from '../../src/sql/parser.js';

// PostgreSQL's parser does not run on big-endian hosts (see src/sql/parser.ts).
const PARSER = { skip: !parserRunsHere() && 'no parser on a big-endian host' };

const table = (columns: Array<[name: string, notNull: boolean]>): RelationFacts => ({
  columns: columns.map(([name, notNull]) => ({ name, notNull, textual: true })),
  definition: undefined,
});

const RELATIONS = new Map<string, RelationFacts>([
  [
    'hosts',
    table([
      ['id', true],
      ['name', true],
      ['owner', false],
    ]),
  ],
  [
    'contacts',
    table([
      ['id', true],
      ['hostid', false],
      ['name', true],
    ]),
  ],
]);

const FACTS: SqlFacts = {
  relation: (_schema, name) => RELATIONS.get(name),
  isUserFunction: (name) => name === 'my_function',
  isUserOperator: (name) => name === '===',
  isUserCastTarget: (name) => name === 'my_type',
};

async function nonNull(sql: string, optional: number[] = []): Promise<boolean[] | undefined> {
  const statement = await parseStatement(sql);
  assert.ok(statement !== undefined);
  return nonNullColumns(statement, FACTS, new Set(optional));
}

void test('joins: the null-extended side of LEFT, RIGHT and FULL', PARSER, async () => {
  const from = 'from hosts h %s contacts c on c.hostid = h.id';
  const cols = 'select h.name, c.name as cname ';
  assert.deepEqual(await nonNull(cols + from.replace('%s', 'join')), [true, true]);
  assert.deepEqual(await nonNull(cols + from.replace('%s', 'left join')), [true, false]);
  assert.deepEqual(await nonNull(cols + from.replace('%s', 'right join')), [false, true]);
  assert.deepEqual(await nonNull(cols + from.replace('%s', 'full join')), [false, false]);
  // Nested: the inner join sits on the nullable side of the outer one.
  assert.deepEqual(
    await nonNull(
      'select a.name, b.name from hosts a left join (contacts b join hosts c on c.id = b.hostid) on b.hostid = a.id',
    ),
    [true, false],
  );
});

void test('a view is followed through its definition, with the catalog names', PARSER, async () => {
  const definition = await parseStatement(
    'select c.id, h.name from contacts c left join hosts h on h.id = c.hostid',
  );
  RELATIONS.set('v', {
    columns: [
      { name: 'id', notNull: false, textual: false },
      { name: 'host', notNull: false, textual: true },
    ],
    definition,
  });
  assert.deepEqual(await nonNull('select id, host from v'), [true, false]);
  assert.deepEqual(await nonNull('select x.* from hosts h join v x on x.id = h.id'), [true, false]);
});

void test('NATURAL JOIN merges the common columns', PARSER, async () => {
  assert.deepEqual(await nonNull('select * from hosts natural join contacts'), [
    true, // id
    true, // name
    false, // owner
    false, // hostid
  ]);
});

void test('what pgts cannot line up makes the whole result nullable', PARSER, async () => {
  // A function in FROM has columns pgts does not know: * cannot be expanded.
  assert.equal(await nonNull('select * from hosts, generate_series(1, 2) g'), undefined);
  assert.equal(await nonNull('select * from nowhere'), undefined);
  // A name it cannot place is nullable, the rest is still known.
  assert.deepEqual(await nonNull('select h.name, x from hosts h, generate_series(1, 2) x'), [
    true,
    false,
  ]);
});

void test("the schema's own functions, operators and casts are never vetted", PARSER, async () => {
  assert.deepEqual(
    await nonNull(
      "select my_function(name), id === 1, name::my_type, lower(name), id + 1, 'x'::text from hosts",
    ),
    [false, false, false, true, true, true],
  );
});

void test('parameters: required ones are non-null, optional ones are not', PARSER, async () => {
  assert.deepEqual(await nonNull('select $1::int, $2::text, coalesce($2, name) from hosts', [2]), [
    true,
    false,
    true,
  ]);
});

void test(
  'correlated references and LATERAL see the enclosing rows as they are',
  PARSER,
  async () => {
    assert.deepEqual(
      await nonNull(
        'select (select count(*) from contacts c where c.hostid = h.id) as n, l.name from hosts h left join lateral (select h.name from contacts) l on true',
      ),
      [true, false],
    );
    assert.deepEqual(
      await nonNull(
        'select l.name from hosts h cross join lateral (select h.name, c.name as other from contacts c) l',
      ),
      [true],
    );
  },
);

void test(
  'set operations and VALUES: non-null only when every branch or row is',
  PARSER,
  async () => {
    assert.deepEqual(
      await nonNull('select id, owner from hosts union select id, name from hosts'),
      [true, false],
    );
    assert.deepEqual(await nonNull("values (1, 'a'), (2, null)"), [true, false]);
  },
);
