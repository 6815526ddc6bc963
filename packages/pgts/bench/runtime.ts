// Runtime overhead of a pgts query against the raw driver, same connection, same query, in
// one run: node-postgres on a PostgreSQL 15 server (raw unnamed, raw named prepared) and
// PGlite (raw). Run by hand: node packages/pgts/dist/bench/runtime.js
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { pgDatabase } from '../src/runtime/pg-driver.js';
import { pgliteDatabase } from '../src/runtime/pglite-driver.js';
import type { Database } from '../src/runtime/database.js';
import { startPostgres } from '../test/support/postgres-server.js';

const ITERATIONS = 3000;
const SCHEMA = `create table contacts (id int primary key, hostid int not null, name text not null,
  subject text, created timestamptz not null default now());
insert into contacts (id, hostid, name, subject)
  select i, i % 10, 'name ' || i, case when i % 2 = 0 then 'subject' end from generate_series(1, 1000) i;`;
const SQL = 'select id, name, subject, created from contacts where hostid = $hostid and id < $max';
const POSITIONAL = 'select id, name, subject, created from contacts where hostid = $1 and id < $2';

type Untyped = { query(sql: string, params: object): Promise<unknown[]> };
const untyped = (db: Database): Untyped => db;

async function measure(label: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1e3 / ITERATIONS;
  console.log(`${label.padEnd(40)} ${us.toFixed(1).padStart(8)} µs/query`);
  return us;
}

const server = startPostgres();
const client = new pg.Client({ connectionString: server.url });
try {
  await client.connect();
  await client.query(SCHEMA);
  const db = untyped(pgDatabase(client));
  const params = (i: number) => ({ hostid: i % 10, max: 100 });
  console.log(`${ITERATIONS} queries each, returning 10 rows of 4 columns`);
  const rawUnnamed = await measure('pg raw (unnamed statement)', (i) =>
    client.query(POSITIONAL, [i % 10, 100]),
  );
  const rawNamed = await measure('pg raw (named prepared statement)', (i) =>
    client.query({ name: 'raw', text: POSITIONAL, values: [i % 10, 100] }),
  );
  const typed = await measure('pgts over pg', (i) => db.query(SQL, params(i)));
  console.log(`ratio pgts/pg raw unnamed:   ${(typed / rawUnnamed).toFixed(2)}`);
  console.log(`ratio pgts/pg raw prepared:  ${(typed / rawNamed).toFixed(2)}`);

  const lite = await PGlite.create();
  await lite.exec(SCHEMA);
  const liteDb = untyped(pgliteDatabase(lite));
  const liteRaw = await measure('PGlite raw', (i) => lite.query(POSITIONAL, [i % 10, 100]));
  const liteTyped = await measure('pgts over PGlite', (i) => liteDb.query(SQL, params(i)));
  console.log(`ratio pgts/PGlite raw:       ${(liteTyped / liteRaw).toFixed(2)}`);
  await lite.close();
} finally {
  await client.end();
  await server.stop();
}
