// Types and nullability inferred for every case the README lists, against embedded PGlite
// and a real PostgreSQL 15 server: both must give the same answers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { paramsType, rowType } from '../../src/codegen/emit.js';
import type { SchemaConnection } from '../../src/describe/connection.js';
import { openServerSchemaConnection } from '../../src/describe/pg-connection.js';
import { openPgliteSchemaConnection } from '../../src/describe/pglite-connection.js';
import { DescribeError } from '../../src/errors.js';
import { QueryAnalyzer } from '../../src/infer/analyze.js';
import { DEFAULT_TYPE_MAPPING } from '../../src/infer/ts-types.js';
import { startPostgres, TEST_SCHEMA, type TestServer } from '@tsvirt/testpostgres';

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
];

function suite(
  label: string,
  open: () => Promise<SchemaConnection>,
  cleanup?: () => Promise<void>,
): void {
  void describe(label, () => {
    let db: SchemaConnection;
    let analyzer: QueryAnalyzer;
    before(async () => {
      db = await open();
      await db.exec(TEST_SCHEMA);
      analyzer = new QueryAnalyzer(db, DEFAULT_TYPE_MAPPING);
    });
    after(async () => {
      await db.close();
      await cleanup?.();
    });

    for (const [sql, params, row] of CASES) {
      void test(sql, async () => {
        const shape = await analyzer.analyze(sql);
        assert.equal(paramsType(shape.params), params);
        assert.equal(rowType(shape.columns), row);
      });
    }

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
