// Sessions and locks: a type first met inside a transaction is looked up inside it (PGlite's
// lock and a one-client pool are held by the transaction; looking elsewhere waits forever),
// several pgts wrappers share one PGlite instance's prepared statements, and a call that can
// never settle makes the process exit with status 1 and a message instead of a silent 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { startPostgres, type TestServer } from '@tsvirt/testpostgres';
import pg from 'pg';
import type { Database } from '../../src/runtime/database.js';
import { pgDatabase } from '../../src/runtime/pg-driver.js';
import { pgliteDatabase } from '../../src/runtime/pglite-driver.js';
import { rewritePlaceholders } from '../../src/sql/placeholders.js';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

type Row = Record<string, unknown>;
interface Untyped {
  one(sql: string, params?: object): Promise<Row>;
  execute(sql: string, params?: object): Promise<number>;
  transaction<T>(fn: (tx: Untyped) => Promise<T>): Promise<T>;
}
const untyped = (db: Database): Untyped => db as unknown as Untyped;

// Without the fix these waited forever: the timeout turns a hang into a failure.
const HANG = { timeout: 60_000 };

async function enumInTransaction(db: Untyped): Promise<void> {
  const row = await db.transaction(async (tx) => {
    await tx.one("select 'ok'::mood as m"); // the first time pgts meets the enum's OID
    return tx.one("select array['sad', 'happy']::mood[] as moods");
  });
  assert.deepEqual(row, { moods: ['sad', 'happy'] });
}

/** A composite type created by the transaction is visible only there: so must the look-up be. */
async function typeOfTheTransaction(db: Untyped): Promise<void> {
  const row = await db.transaction(async (tx) => {
    await tx.execute('create type pair as (a int, b text)');
    return tx.one("select row(1, 'z')::pair as p");
  });
  assert.deepEqual(row, { p: { a: 1, b: 'z' } });
}

void describe('PGlite', () => {
  let lite: PGlite;
  before(async () => {
    lite = await PGlite.create();
    await lite.exec("create type mood as enum ('sad', 'ok', 'happy')");
  });
  after(async () => lite.close());

  void test('an enum decoded for the first time inside a transaction', HANG, async () => {
    await enumInTransaction(untyped(pgliteDatabase(lite)));
  });

  void test('a type created inside the transaction is decoded there', HANG, async () => {
    await typeOfTheTransaction(untyped(pgliteDatabase(lite)));
  });

  void test('two wrappers over one instance share its prepared statements', async () => {
    const first = untyped(pgliteDatabase(lite));
    const second = untyped(pgliteDatabase(lite, { int8: 'bigint' }));
    const prepared = async (): Promise<number> =>
      (await lite.query('select name from pg_prepared_statements')).rows.length;
    const before = await prepared();
    const sql = 'select $n::int8 + 1 as n';
    assert.deepEqual(await first.one(sql, { n: 1 }), { n: '2' });
    assert.deepEqual(await second.one(sql, { n: 1 }), { n: 2n });
    await second.transaction(async (tx) =>
      assert.deepEqual(await tx.one(sql, { n: 2 }), { n: 3n }),
    );
    assert.equal(await prepared(), before + 1);
  });

  void test('a statement already prepared under its name (another copy of pgts) is reused', async () => {
    const sql = 'select $a::int * 10 as tenfold';
    const text = rewritePlaceholders(sql).text;
    const name = `pgts_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    await lite.exec(`prepare ${name} as ${text}`);
    assert.deepEqual(await untyped(pgliteDatabase(lite)).one(sql, { a: 4 }), { tenfold: 40 });
  });
});

void describe('node-postgres, a pool of one client', () => {
  let server: TestServer;
  let pool: pg.Pool;
  before(async () => {
    server = startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 1 });
    // The idle client hears the server's shutdown at the end; that is expected.
    pool.on('error', () => undefined);
    await pool.query("create type mood as enum ('sad', 'ok', 'happy')");
  });
  after(async () => {
    await pool.end();
    await server.stop();
  });

  void test('an enum decoded for the first time inside a transaction', HANG, async () => {
    await enumInTransaction(untyped(pgDatabase(pool)));
  });

  void test('a type created inside the transaction is decoded there', HANG, async () => {
    await typeOfTheTransaction(untyped(pgDatabase(pool)));
  });
});

void describe('a call that can never settle', () => {
  const run = (body: string): { code: number | null; out: string; err: string } => {
    const script = `
      import { PGlite } from '@electric-sql/pglite';
      import { pgliteDatabase } from '@tsvirt/pgts/pglite';
      const lite = await PGlite.create();
      const db = pgliteDatabase(lite);
      ${body}
      console.log('reached the end');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: PACKAGE,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  void test('using PGlite directly inside a transaction: exit status 1 and why', () => {
    const r = run(`await db.transaction(async () => { await lite.query('select 1'); });`);
    assert.equal(r.code, 1, r.err);
    assert.doesNotMatch(r.out, /reached the end/);
    assert.match(r.err, /pgts: the event loop is empty but 1 pgts call has not settled/);
    assert.match(r.err, /a transaction/);
    assert.match(r.err, /use the transaction's tx/);
  });

  void test("the same program using the transaction's tx runs to the end with status 0", () => {
    const r = run(`await db.transaction(async (tx) => { await tx.query('select 1 as one'); });`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /reached the end/);
    assert.equal(r.err, '');
  });
});
