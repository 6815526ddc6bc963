// Types and nullability inferred for every case the README lists, against embedded PGlite
// (PostgreSQL 17) and a real PostgreSQL 15 server: each case must give the expected types on
// both, and the declaration files emitted from the whole suite on each must be identical.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emitDeclarations, paramsType, rowType } from '../../src/codegen/emit.js';
import type { SchemaConnection } from '../../src/describe/connection.js';
import { openServerSchemaConnection } from '../../src/describe/pg-connection.js';
import { openPgliteSchemaConnection } from '../../src/describe/pglite-connection.js';
import { DescribeError } from '../../src/errors.js';
import { QueryAnalyzer, type QueryShape } from '../../src/infer/analyze.js';
import { DEFAULT_TYPE_MAPPING } from '../../src/infer/ts-types.js';
import { startPostgres, TEST_SCHEMA, type TestServer } from '@tsvirt/testpostgres';

/**
 * A schema pgts's own tests did not grow up with, as a new user brings it: an enum, a
 * domain, a composite foreign key, jsonb, timestamptz, arrays, a range, a generated column,
 * views over LEFT JOINs with a CTE and a subquery on the nullable side, a view on a view,
 * a function and an operator of the schema's own.
 */
const NEW_USER_SCHEMA = `
create type status as enum ('new', 'active', 'gone');
create domain positive as int check (value > 0);
alter table hosts add unique (id, name);
create table guests (
  id int generated always as identity primary key,
  host_id int not null,
  host_name text not null,
  data jsonb not null default '{}',
  tags text[] not null default '{}',
  seen timestamptz not null default now(),
  status status not null default 'new',
  score positive,
  nights int4range,
  name_lower text generated always as (lower(host_name)) stored,
  foreign key (host_id, host_name) references hosts (id, name)
);
create view host_guests as
  with g as (select host_id, count(*) as guests from guests group by host_id)
  select h.id, h.name, g.guests from hosts h left join g on g.host_id = h.id;
create view guest_counts as
  select h.id, h.name, g.n
    from hosts h left join (select host_id, count(*) as n from guests group by host_id) g
      on g.host_id = h.id;
create view busy_hosts as select id, name, n from guest_counts where n > 1;
create function host_label(h hosts) returns text language sql as $$ select h.name $$;
create operator === (leftarg = int, rightarg = int, function = int4eq);
`;

/** [sql, expected params type, expected row type] */
const CASES: Array<[string, string, string]> = [
  // Every common type, NOT NULL columns.
  [
    'select * from everything',
    'Record<string, never>',
    '{ id: number; i2: number; i4: number; i8: string; num: string; f4: number; f8: number; ' +
      'b: boolean; t: string; vc: string; ch: string; u: string; by: Uint8Array; d: string; ' +
      'tm: string; ts: Date; tstz: Date; iv: string; j: Json; jb: Json; arr: number[]; ' +
      'tarr: string[]; m: "sad" | "ok" | "happy"; e: string; ' +
      'a: { street: string | null; number: number | null }; moods: Array<"sad" | "ok" | "happy"> }',
  ],
  // Parameters: required, optional, list; types inferred from their use.
  [
    'select id from hosts where id in ($@ids) and name = $name and owner = $?owner',
    '{ ids: ReadonlyArray<number>; name: string; owner?: string | null | undefined }',
    '{ id: number }',
  ],
  // Nullable column, outer joins both ways, FULL join.
  [
    'select c.id, c.subject, h.name from contacts c left join hosts h on h.id = c.hostid',
    'Record<string, never>',
    '{ id: number; subject: string | null; name: string | null }',
  ],
  [
    'select h.name as host, c.name from hosts h right join contacts c on c.hostid = h.id',
    'Record<string, never>',
    '{ host: string | null; name: string }',
  ],
  [
    'select h.name as host, c.name from hosts h full join contacts c on c.hostid = h.id',
    'Record<string, never>',
    '{ host: string | null; name: string | null }',
  ],
  [
    'select h.name as host, c.name from hosts h join contacts c on c.hostid = h.id',
    'Record<string, never>',
    '{ host: string; name: string }',
  ],
  // A view: followed into its definition (its own catalog says nothing is NOT NULL).
  [
    'select id, name, host from contact_hosts',
    'Record<string, never>',
    '{ id: number; name: string; host: string | null }',
  ],
  // CTEs, inlined and materialized.
  [
    'with x as (select id, name from hosts) select c.name, x.name as host from contacts c join x on x.id = c.hostid',
    'Record<string, never>',
    '{ name: string; host: string }',
  ],
  [
    'with x as materialized (select id, name from hosts) select c.name, x.name as host from contacts c left join x on x.id = c.hostid',
    'Record<string, never>',
    '{ name: string; host: string | null }',
  ],
  // LATERAL.
  [
    'select h.name, l.subject, l.id from hosts h left join lateral (select id, subject from contacts c where c.hostid = h.id limit 1) l on true',
    'Record<string, never>',
    '{ name: string; subject: string | null; id: number | null }',
  ],
  [
    'select h.name, l.id from hosts h cross join lateral (select id from contacts c where c.hostid = h.id) l',
    'Record<string, never>',
    '{ name: string; id: number }',
  ],
  // Expressions, aggregates, COALESCE, CASE, literals.
  [
    "select count(*) as n, max(name) as top, coalesce(max(name), 'none') as top2, 1 as one, name || '!' as loud from hosts group by name",
    'Record<string, never>',
    '{ n: string; top: string; top2: string; one: number; loud: string }',
  ],
  // Aggregates: a GROUP BY group is never empty, a whole table may be.
  [
    "select c.hostid, max(c.name) as top, min(c.subject) as low, string_agg(distinct c.name, ',' order by c.name) as names, array_agg(c.subject) as subjects from contacts c group by c.hostid order by 1",
    'Record<string, never>',
    '{ hostid: number | null; top: string; low: string | null; names: string; subjects: string[] }',
  ],
  [
    'select max(name) as top, sum(id) as total from hosts',
    'Record<string, never>',
    '{ top: string | null; total: string | null }',
  ],
  [
    "select case when id > 1 then 'big' else 'small' end as size, case when id > 1 then 'big' end as maybe, owner is null as orphan from hosts",
    'Record<string, never>',
    '{ size: string; maybe: string | null; orphan: boolean }',
  ],
  [
    'select (select count(*) from contacts) as total, exists(select 1 from contacts) as any, (select name from hosts limit 1) as first from hosts',
    'Record<string, never>',
    '{ total: string; any: boolean; first: string | null }',
  ],
  // A required parameter is non-null in the result, an optional one is not; window ranks.
  [
    'select $?x::text as x, $y::int as y, row_number() over (order by id) as rn from hosts',
    '{ x?: string | null | undefined; y: number }',
    '{ x: string | null; y: number; rn: string }',
  ],
  // Set operations: nullable if any branch is.
  [
    'select name from hosts union all select subject from contacts',
    'Record<string, never>',
    '{ name: string | null }',
  ],
  // DML with RETURNING; a command without result.
  [
    'insert into hosts (id, name) values ($id, $name) returning id, name, owner',
    '{ id: number; name: string }',
    '{ id: number; name: string; owner: string | null }',
  ],
  ['delete from hosts where id = $id', '{ id: number }', 'Record<string, never>'],
  // A composite parameter is its record literal text; enum and array parameters are typed.
  [
    'update everything set a = $a, m = $m, moods = $moods where id = $id',
    '{ a: string; m: "sad" | "ok" | "happy"; moods: Array<"sad" | "ok" | "happy">; id: number }',
    'Record<string, never>',
  ],
  // Overrides in the SQL: "col!" non-null, "col?" nullable.
  [
    'select c.subject as "subject!", c.name as "name?" from contacts c',
    'Record<string, never>',
    '{ subject: string; name: string | null }',
  ],

  // The new user's schema. count(*) of a CTE, a subquery, a view on the nullable side of a
  // LEFT JOIN: NULL where the join found nothing, on every server.
  [
    'with g as (select host_id, count(*) as guests from guests group by host_id) select h.name, g.guests from hosts h left join g on g.host_id = h.id',
    'Record<string, never>',
    '{ name: string; guests: string | null }',
  ],
  [
    'select h.name, g.guests from hosts h left join (select host_id, count(*) as guests from guests group by host_id) g on g.host_id = h.id',
    'Record<string, never>',
    '{ name: string; guests: string | null }',
  ],
  [
    'select id, name, guests from host_guests',
    'Record<string, never>',
    '{ id: number; name: string; guests: string | null }',
  ],
  [
    'select id, name, n from guest_counts',
    'Record<string, never>',
    '{ id: number; name: string; n: string | null }',
  ],
  [
    'select id, name, n from busy_hosts',
    'Record<string, never>',
    '{ id: number; name: string; n: string | null }',
  ],
  // JSON operators, subscripts, NULLIF: NULL on a missing key, index or equal values.
  [
    "select data ->> 'name' as name, data -> 'x' as x, data #>> '{a,b}' as ab, tags[1] as first_tag, nullif(host_name, '') as named from guests",
    'Record<string, never>',
    '{ name: string | null; x: Json | null; ab: string | null; first_tag: string | null; named: string | null }',
  ],
  // concat_ws is NULL for a NULL separator; concat never is.
  [
    "select concat_ws($?sep, host_name, 'x') as a, concat_ws(',', host_name, null) as b, concat(host_name, null) as c from guests",
    '{ sep?: string | null | undefined }',
    '{ a: string | null; b: string; c: string }',
  ],
  // Vetted functions and operators on non-null inputs; lower() of a range, extract() of an
  // infinite timestamp, an operator on a nullable column: NULL.
  [
    "select lower(host_name) as l, length(host_name) as len, lower(nights) as low, extract(year from seen) as y, date_trunc('day', seen) as d, now() as t, host_name || '!' as loud, id + 1 as next, score + 1 as s, trim(host_name) as trimmed from guests",
    'Record<string, never>',
    '{ l: string; len: number; low: number | null; y: string | null; d: Date; t: Date; loud: string; next: number; s: number | null; trimmed: string }',
  ],
  // The schema's own function and operator are not vetted.
  [
    'select host_label(h) as label, h.host_label, h.id === 1 as eq from hosts h',
    'Record<string, never>',
    '{ label: string | null; host_label: string | null; eq: boolean | null }',
  ],
  // A composite foreign key, inner and outer.
  [
    'select g.id, h.owner from guests g join hosts h on (h.id, h.name) = (g.host_id, g.host_name)',
    'Record<string, never>',
    '{ id: number; owner: string | null }',
  ],
  [
    'select g.id, h.name from guests g left join hosts h on (h.id, h.name) = (g.host_id, g.host_name)',
    'Record<string, never>',
    '{ id: number; name: string | null }',
  ],
  // A generated column (no NOT NULL), an enum, a domain.
  [
    'select name_lower, status, score from guests',
    'Record<string, never>',
    '{ name_lower: string | null; status: "new" | "active" | "gone"; score: number | null }',
  ],
  // WITH RECURSIVE: non-null through the recursion, or not.
  [
    'with recursive n(i) as (select 1 union all select i + 1 from n where i < 5) select i from n',
    'Record<string, never>',
    '{ i: number }',
  ],
  [
    'with recursive t(id, parent) as (select id, null::int from hosts union all select h.id, t.id from hosts h join t on t.id = h.id + 1) select id, parent from t',
    'Record<string, never>',
    '{ id: number; parent: number | null }',
  ],
  // JOIN ... USING: the merged column (COALESCE of both sides for FULL).
  [
    'select id, h.name from hosts h full join contacts c using (id)',
    'Record<string, never>',
    '{ id: number; name: string | null }',
  ],
  [
    'select * from hosts join contacts using (id, name)',
    'Record<string, never>',
    '{ id: number; name: string; owner: string | null; hostid: number | null; subject: string | null }',
  ],
  // Grouping sets NULL the grouped columns; FILTER may leave a group empty.
  [
    'select name, count(*) as n from contacts group by rollup (name)',
    'Record<string, never>',
    '{ name: string | null; n: string }',
  ],
  [
    'select hostid, max(name) filter (where id > 1) as top, count(*) filter (where id > 1) as n from contacts group by hostid',
    'Record<string, never>',
    '{ hostid: number | null; top: string | null; n: string }',
  ],
  // Scalar subqueries: one row always (an aggregate), or maybe none.
  [
    'with x as (select 1 as one) select (select coalesce(max(id), 0) from hosts) as top, (select one from x) as one, (select 2) as two',
    'Record<string, never>',
    '{ top: number; one: number | null; two: number }',
  ],
  // Whole rows: NULL only when null-extended.
  [
    'select row_to_json(h) as j, to_jsonb(c) as k from hosts h left join contacts c on c.hostid = h.id',
    'Record<string, never>',
    '{ j: Json; k: Json | null }',
  ],
  // Functions in FROM are not followed.
  ['select g from generate_series(1, 3) g', 'Record<string, never>', '{ g: number | null }'],
  ['select * from unnest(array[1, 2]) as u(x)', 'Record<string, never>', '{ x: number | null }'],
  // IN (list) of non-null values; = ANY (array) may meet a NULL element; row comparisons.
  [
    "select id in (1, 2) as small, id = any(array[1, 2]) as listed, (id, owner) = (1, 'a') as same, (id, name) = (1, 'a') as same2 from hosts",
    'Record<string, never>',
    '{ small: boolean; listed: boolean | null; same: boolean | null; same2: boolean }',
  ],
  // A qualified star; a data-modifying CTE; UPDATE ... FROM ... RETURNING.
  [
    'select s.* from (select id, name from hosts) s',
    'Record<string, never>',
    '{ id: number; name: string }',
  ],
  [
    'with moved as (delete from contacts where id = $id returning id, subject) select id, subject from moved',
    '{ id: number }',
    '{ id: number; subject: string | null }',
  ],
  [
    'update hosts h set owner = $o from contacts c where c.hostid = h.id returning h.name, c.subject',
    '{ o: string }',
    '{ name: string; subject: string | null }',
  ],
];

function suite(
  label: string,
  open: () => Promise<SchemaConnection>,
  cleanup?: () => Promise<void>,
): void {
  void describe(label, () => {
    let db: SchemaConnection;
    let analyzer: QueryAnalyzer;
    const shapes: QueryShape[] = [];
    before(async () => {
      db = await open();
      await db.exec(TEST_SCHEMA);
      await db.exec(NEW_USER_SCHEMA);
      analyzer = new QueryAnalyzer(db, DEFAULT_TYPE_MAPPING);
    });
    after(async () => {
      await db.close();
      await cleanup?.();
    });

    for (const [sql, params, row] of CASES) {
      void test(sql, async () => {
        const shape = await analyzer.analyze(sql);
        shapes.push(shape);
        assert.equal(paramsType(shape.params), params);
        assert.equal(rowType(shape.columns), row);
      });
    }

    void test('the declarations of the whole suite', () => {
      assert.equal(shapes.length, CASES.length);
      declarations.set(label, emitDeclarations(shapes, '@tsvirt/pgts'));
    });

    void test('without the parser (a big-endian host) types hold and every column is nullable', async () => {
      const withoutParser = new QueryAnalyzer(db, DEFAULT_TYPE_MAPPING, false);
      const shape = await withoutParser.analyze(
        'select h.id, h.name, c.subject as "subject!" from hosts h join contacts c on c.hostid = h.id where h.id = $id',
      );
      assert.equal(paramsType(shape.params), '{ id: number }');
      assert.equal(
        rowType(shape.columns),
        '{ id: number | null; name: string | null; subject: string }',
      );
    });

    void test('a vetted function the schema defines an overload of is no longer trusted', async () => {
      await db.exec('create function length(s status) returns int language sql as $$ select 1 $$');
      const fresh = new QueryAnalyzer(db, DEFAULT_TYPE_MAPPING);
      const shape = await fresh.analyze(
        'select length(host_name) as len, pg_catalog.length(host_name) as len2 from guests',
      );
      assert.equal(rowType(shape.columns), '{ len: number | null; len2: number }');
    });

    void test('type overrides by type name and by column; int8 as bigint', async () => {
      const custom = new QueryAnalyzer(db, {
        int8: 'bigint',
        date: 'Date',
        types: { email: 'Email', numeric: 'Decimal' },
        columns: { 'everything.t': 'Text' },
      });
      const shape = await custom.analyze('select i8, d, e, num, t from everything');
      assert.equal(
        rowType(shape.columns),
        '{ i8: bigint; d: Date; e: Email; num: Decimal; t: Text }',
      );
    });

    void test('invalid SQL: PostgreSQL message and the offset of the error in the SQL as written', async () => {
      const sql = 'select id, nme from hosts where name = $name';
      await assert.rejects(analyzer.analyze(sql), (e: unknown) => {
        assert.ok(e instanceof DescribeError);
        assert.match(e.message, /column "nme" does not exist/);
        assert.equal(e.offset, sql.indexOf('nme'));
        return true;
      });
      const typeError = 'select id from hosts where id = $a and name = $b + 1';
      await assert.rejects(analyzer.analyze(typeError), /operator does not exist: text = integer/);
      await assert.rejects(
        analyzer.analyze('select id from hosts where id = $@ids'),
        (e: unknown) => {
          assert.ok(e instanceof DescribeError);
          assert.match(e.message, /list parameter \$@ids is not used as a list/);
          assert.equal(e.offset, 32);
          return true;
        },
      );
      await assert.rejects(
        analyzer.analyze('select c.*, h.* from contacts c join hosts h on h.id = c.hostid'),
        /more than one column named "id": give them distinct aliases/,
      );
    });
  });
}

const declarations = new Map<string, string>();

suite('PGlite', openPgliteSchemaConnection);

let server: TestServer | undefined;
suite(
  'PostgreSQL 15 server',
  async () => {
    server = startPostgres();
    return openServerSchemaConnection(server.url);
  },
  async () => server?.stop(),
);

void test('PGlite (PostgreSQL 17) and PostgreSQL 15 emit identical declarations', () => {
  const [lite, server] = [...declarations.values()];
  assert.equal(declarations.size, 2);
  assert.ok(lite !== undefined && lite.includes('"select id, name, guests from host_guests"'));
  assert.equal(lite, server);
});
