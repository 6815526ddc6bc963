// The runtime against node-postgres (a real PostgreSQL 15 server) and PGlite: values decode
// to what the generated types promise, parameters are bound (an injection attempt is stored
// literally), prepared statements are named per connection, transactions roll back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { ParameterError, RowCountError } from '../../src/errors.js';
import type { Database } from '../../src/runtime/database.js';
import { pgDatabase } from '../../src/runtime/pg-driver.js';
import { pgliteDatabase } from '../../src/runtime/pglite-driver.js';
import { startPostgres, TEST_SCHEMA, type TestServer } from '@tsvirt/testpostgres';

// The package's own tests have no generated declarations: call the runtime untyped (the
// typing is what test/integration/fixture.test.ts checks).
type Row = Record<string, unknown>;
interface Untyped {
  query(sql: string, params?: object): Promise<Row[]>;
  one(sql: string, params?: object): Promise<Row>;
  maybeOne(sql: string, params?: object): Promise<Row | undefined>;
  execute(sql: string, params?: object): Promise<number>;
  transaction<T>(fn: (tx: Untyped) => Promise<T>): Promise<T>;
}
const untyped = (db: Database): Untyped => db as unknown as Untyped;

const INSERT_EVERYTHING = `insert into everything values ($id, $i2, $i4, $i8, $num, $f4, $f8, $b, $t, $vc,
  $ch, $u, $by, $d, $tm, $ts, $tstz, $iv, $j, $jb, $arr, $tarr, $m, $e, $a, $moods)`;

const INJECTION = "x'); drop table hosts; --";

interface Opened {
  db: Database;
  /** The same connection with `{ int8: 'bigint', date: 'Date' }`. */
  custom: Database;
  close: () => Promise<void>;
}

function suite(label: string, open: () => Promise<Opened>): void {
  void describe(label, () => {
    let db: Untyped;
    let custom: () => Untyped;
    let close: () => Promise<void>;
    before(async () => {
      const opened = await open();
      db = untyped(opened.db);
      custom = () => untyped(opened.custom);
      close = opened.close;
    });
    after(async () => close());

    void test('every type round-trips to the JavaScript value its declared type promises', async () => {
      const tstz = new Date('2024-05-06T07:08:09.123Z');
      await db.execute(INSERT_EVERYTHING, {
        id: 1,
        i2: 7,
        i4: -42,
        i8: '9007199254740993',
        num: '12.50',
        f4: 1.5,
        f8: 2.25,
        b: true,
        t: 'text',
        vc: 'varchar',
        ch: 'abc',
        u: '0e37df36-f698-11e6-8dd4-cb9ced3df976',
        by: Buffer.from([0, 1, 255]),
        d: '2024-02-29',
        tm: '12:34:56',
        ts: new Date('2024-01-02T03:04:05Z'),
        tstz,
        iv: '1 day 02:00:00',
        j: { a: 1 },
        jb: { b: [1, 'two'] },
        arr: [1, 2, 3],
        tarr: ['a b', 'c,d', 'e"f'],
        m: 'happy',
        e: 'me@example.org',
        a: '("Main St",5)',
        moods: '{sad,ok}',
      });
      const row = await db.one('select * from everything where id = $id', { id: 1 });
      assert.deepEqual(
        { ...row, by: [...(row['by'] as Uint8Array)] },
        {
          id: 1,
          i2: 7,
          i4: -42,
          i8: '9007199254740993',
          num: '12.50',
          f4: 1.5,
          f8: 2.25,
          b: true,
          t: 'text',
          vc: 'varchar',
          ch: 'abc',
          u: '0e37df36-f698-11e6-8dd4-cb9ced3df976',
          by: [0, 1, 255],
          d: '2024-02-29',
          tm: '12:34:56',
          ts: new Date('2024-01-02T03:04:05Z'),
          tstz,
          iv: '1 day 02:00:00',
          j: { a: 1 },
          jb: { b: [1, 'two'] },
          arr: [1, 2, 3],
          tarr: ['a b', 'c,d', 'e"f'],
          m: 'happy',
          e: 'me@example.org',
          a: { street: 'Main St', number: 5 },
          moods: ['sad', 'ok'],
        },
      );
    });

    void test('an injection attempt passed as a parameter is stored literally', async () => {
      await db.execute('insert into hosts (id, name) values ($id, $name)', {
        id: 10,
        name: INJECTION,
      });
      const row = await db.one('select name from hosts where id = $id', { id: 10 });
      assert.equal(row['name'], INJECTION);
      assert.equal((await db.query('select id from hosts')).length >= 1, true);
    });

    void test('list and optional parameters; NULL for an absent optional', async () => {
      await db.execute('insert into hosts (id, name) values ($id, $name)', { id: 11, name: 'b' });
      await db.execute('insert into hosts (id, name) values ($id, $name)', { id: 12, name: 'c' });
      const rows = await db.query('select id from hosts where id in ($@ids) order by id', {
        ids: [11, 12, 99],
      });
      assert.deepEqual(rows, [{ id: 11 }, { id: 12 }]);
      const none = await db.query(
        'select id from hosts where id not in ($@ids) and id in (11, 12)',
        {
          ids: [11],
        },
      );
      assert.deepEqual(none, [{ id: 12 }]);
      const absent = await db.one('select $?x::text is null as absent', {});
      assert.deepEqual(absent, { absent: true });
      await assert.rejects(db.query('select $x::int as x', {}), ParameterError);
    });

    void test('one, maybeOne and execute', async () => {
      assert.equal(
        await db.maybeOne('select id from hosts where id = $id', { id: 404 }),
        undefined,
      );
      await assert.rejects(
        db.one('select id from hosts where id = $id', { id: 404 }),
        RowCountError,
      );
      await assert.rejects(
        db.maybeOne('select id from hosts where id > $id', { id: 0 }),
        RowCountError,
      );
      assert.equal(
        await db.execute('update hosts set owner = $o where id in ($@ids)', {
          o: 'a@b',
          ids: [11, 12],
        }),
        2,
      );
    });

    void test('a transaction commits on success and rolls back on error', async () => {
      await db.transaction(async (tx) => {
        await tx.execute('insert into hosts (id, name) values ($id, $name)', {
          id: 20,
          name: 'kept',
        });
      });
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.execute('insert into hosts (id, name) values ($id, $name)', {
            id: 21,
            name: 'gone',
          });
          throw new Error('abort');
        }),
        /abort/,
      );
      const rows = await db.query('select id from hosts where id in ($@ids) order by id', {
        ids: [20, 21],
      });
      assert.deepEqual(rows, [{ id: 20 }]);
    });

    void test('int8 as bigint and date as Date when asked for', async () => {
      const row = await custom().one(
        "select 9007199254740993::int8 as big, '2024-02-29'::date as d",
      );
      assert.deepEqual(row, { big: 9007199254740993n, d: new Date('2024-02-29T00:00:00Z') });
    });

    void test('result column override suffixes are removed from the row keys', async () => {
      const row = await db.one('select 1 as "one!", null::text as "two?"');
      assert.deepEqual(row, { one: 1, two: null });
    });
  });
}

let server: TestServer | undefined;
let pool: pg.Pool | undefined;

suite('node-postgres against PostgreSQL 15', async () => {
  server = startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(TEST_SCHEMA);
  await admin.end();
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  // An idle pooled connection hears the server's shutdown; that is expected at the end.
  pool.on('error', () => undefined);
  return {
    db: pgDatabase(pool),
    custom: pgDatabase(pool, { int8: 'bigint', date: 'Date' }),
    close: async () => {
      await pool?.end();
      await server?.stop();
    },
  };
});

void describe('PGlite prepared statements', () => {
  void test('statements are prepared once per instance under a pgts_ name; json arrays bind as JSON', async () => {
    const lite = await PGlite.create();
    try {
      const db = untyped(pgliteDatabase(lite));
      await db.query('select $a::int + 1 as n', { a: 1 });
      await db.query('select $a::int + 1 as n', { a: 2 });
      const prepared = await lite.query<{ name: string }>(
        'select name from pg_prepared_statements',
      );
      assert.deepEqual(
        prepared.rows.filter((r) => r.name.startsWith('pgts_') && r.name !== 'pgts_types').length,
        1,
      );
      assert.deepEqual(await db.one('select $j::jsonb as j', { j: [1, { a: 'b' }] }), {
        j: [1, { a: 'b' }],
      });
    } finally {
      await lite.close();
    }
  });
});

void describe('node-postgres prepared statements', () => {
  void test('statements are prepared once per connection under a pgts_ name', async () => {
    const s = startPostgres();
    const client = new pg.Client({ connectionString: s.url });
    try {
      await client.connect();
      const db = untyped(pgDatabase(client));
      await db.query('select $a::int + 1 as n', { a: 1 });
      await db.query('select $a::int + 1 as n', { a: 2 });
      const prepared = await client.query<{ name: string }>(
        'select name from pg_prepared_statements',
      );
      assert.equal(prepared.rows.length, 1);
      assert.match(prepared.rows[0]?.name ?? '', /^pgts_[0-9a-f]{20}$/);
    } finally {
      await client.end();
      await s.stop();
    }
  });
});

suite('PGlite', async () => {
  const lite = await PGlite.create();
  await lite.exec(TEST_SCHEMA);
  return {
    db: pgliteDatabase(lite),
    custom: pgliteDatabase(lite, { int8: 'bigint', date: 'Date' }),
    close: () => lite.close(),
  };
});
