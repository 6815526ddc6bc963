// node-postgres: named prepared statements (pg keeps them per connection, so each is parsed
// once per connection), values returned as text for our own decoding.
import pg from 'pg';
import { Database, type DatabaseOptions } from './database.js';
import type { Driver, RawResult } from './driver.js';

const textOnly = { getTypeParser: () => (value: string) => value };

type PgQueryable = pg.Pool | pg.Client | pg.PoolClient;

class PgDriver implements Driver {
  constructor(private readonly client: PgQueryable) {}

  async run(name: string, text: string, values: unknown[]): Promise<RawResult> {
    const result = await this.client.query<Array<string | null>>({
      name,
      text,
      // pg sends a Date in the process's local time zone; an ISO instant means the same to
      // timestamptz and stores UTC wall time in a timestamp, which is how pgts reads it back.
      values: values.map((v) => (v instanceof Date ? v.toISOString() : v)),
      rowMode: 'array',
      types: textOnly,
    });
    return {
      fields: result.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
      rows: result.rows,
      rowCount: result.rowCount ?? result.rows.length,
    };
  }

  async transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    const pool = this.client instanceof pg.Pool ? this.client : undefined;
    const client = pool === undefined ? this.client : await pool.connect();
    try {
      await client.query('begin');
      try {
        const result = await fn(new PgDriver(client));
        await client.query('commit');
        return result;
      } catch (e) {
        await client.query('rollback');
        throw e;
      }
    } finally {
      if (pool !== undefined) (client as pg.PoolClient).release();
    }
  }
}

/** A typed database over a node-postgres Pool or Client (the caller owns and ends it). */
export function pgDatabase(client: PgQueryable, options: DatabaseOptions = {}): Database {
  return new Database(new PgDriver(client), options);
}
