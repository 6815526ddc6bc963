// Runtime overhead of a pgts query against the raw driver, same connection, same query, in
// one run: node-postgres on a PostgreSQL 15 server (raw unnamed, raw named prepared) and
// PGlite (raw). Run by hand: node packages/pgts/dist/bench/runtime.js
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { startPostgres } from '@tsvirt/testpostgres';
import type { Database } from '../src/runtime/database.js';
import { pgDatabase } from '../src/runtime/pg-driver.js';
import { pgliteDatabase } from '../src/runtime/pglite-driver.js';

// The machine is shared and noisy, and a burst of other work lasts longer than a few
// queries: the variants take turns in short batches (the order rotating from round to
// round), each reported by its median batch.
const ROUNDS = 200;
const PER_BATCH = 20;
const SCHEMA = `create table contacts (id int primary key, hostid int not null, name text not null,
  subject text, created timestamptz not null default now());
insert into contacts (id, hostid, name, subject)
  select i, i % 10, 'name ' || i, case when i % 2 = 0 then 'subject' end from generate_series(1, 1000) i;`;
const SQL = 'select id, name, subject, created from contacts where hostid = $hostid and id < $max';
const POSITIONAL = 'select id, name, subject, created from contacts where hostid = $1 and id < $2';

type Untyped = { query(sql: string, params: object): Promise<unknown[]> };
const untyped = (db: Database): Untyped => db;

type Variant = [label: string, fn: (i: number) => Promise<unknown>];

/** Median µs per query of each variant, the variants taking turns batch by batch. */
async function measure(variants: Variant[]): Promise<number[]> {
  for (const [, fn] of variants) for (let i = 0; i < 300; i++) await fn(i); // warm up
  const samples: number[][] = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let turn = 0; turn < variants.length; turn++) {
      const k = (round + turn) % variants.length;
      const fn = variants[k]?.[1];
      if (fn === undefined) continue;
      const start = process.hrtime.bigint();
      for (let i = 0; i < PER_BATCH; i++) await fn(i);
      samples[k]?.push(Number(process.hrtime.bigint() - start) / 1e3 / PER_BATCH);
    }
  }
  return variants.map(([label], k) => {
    const sorted = [...(samples[k] ?? [])].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    console.log(
      `${label.padEnd(40)} ${median.toFixed(1).padStart(8)} µs/query (median of ${ROUNDS} batches of ${PER_BATCH})`,
    );
    return median;
  });
}

const server = startPostgres();
const client = new pg.Client({ connectionString: server.url });
try {
  await client.connect();
  await client.query(SCHEMA);
  const db = untyped(pgDatabase(client));
  const params = (i: number) => ({ hostid: i % 10, max: 100 });
  console.log(`queries returning 10 rows of 4 columns, ${ROUNDS * PER_BATCH} per variant`);
  const [rawUnnamed = 0, rawNamed = 0, typed = 0] = await measure([
    ['pg raw (unnamed statement)', (i) => client.query(POSITIONAL, [i % 10, 100])],
    [
      'pg raw (named prepared statement)',
      (i) => client.query({ name: 'raw', text: POSITIONAL, values: [i % 10, 100] }),
    ],
    ['pgts over pg', (i) => db.query(SQL, params(i))],
  ]);
  console.log(`ratio pgts/pg raw unnamed:   ${(typed / rawUnnamed).toFixed(2)}`);
  console.log(`ratio pgts/pg raw prepared:  ${(typed / rawNamed).toFixed(2)}`);

  const lite = await PGlite.create();
  await lite.exec(SCHEMA);
  const liteDb = untyped(pgliteDatabase(lite));
  const [liteRaw = 0, liteTyped = 0] = await measure([
    ['PGlite raw', (i) => lite.query(POSITIONAL, [i % 10, 100])],
    ['pgts over PGlite', (i) => liteDb.query(SQL, params(i))],
  ]);
  console.log(`ratio pgts/PGlite raw:       ${(liteTyped / liteRaw).toFixed(2)}`);
  await lite.close();
} finally {
  await client.end();
  await server.stop();
}
