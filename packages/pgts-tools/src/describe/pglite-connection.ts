import { endianness } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import { describeMessages, readReply } from '@tsvirt/pgts/internal';
import { SchemaError } from '../errors.js';
import { toPostgresError, type SchemaConnection, type StatementDescription } from './connection.js';

/**
 * An in-memory PGlite: the default source of types, no server needed. Refused on a
 * big-endian host before PGlite is loaded: its WebAssembly glue reads memory in the host's
 * byte order, and V8 aborts the whole process there.
 */
export async function openPgliteSchemaConnection(
  hostEndianness: 'BE' | 'LE' = endianness(),
): Promise<SchemaConnection> {
  if (hostEndianness === 'BE') {
    throw new SchemaError(
      'embedded PGlite does not run on a big-endian host like this one (its WebAssembly ' +
        'build assumes little-endian memory): describe the queries against a PostgreSQL ' +
        'server instead, with "database": "env" in pgts.config.json and DATABASE_URL (or ' +
        'PGHOST/PGPORT/PGUSER/PGDATABASE) pointing at a database where the schema is applied',
    );
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  const version = await db.query<{ v: string }>(`select current_setting('server_version') as v`);
  return new PgliteSchemaConnection(db, `PGlite (PostgreSQL ${version.rows[0]?.v ?? '?'})`);
}

class PgliteSchemaConnection implements SchemaConnection {
  constructor(
    private readonly db: PGlite,
    readonly label: string,
  ) {}

  async describe(sql: string): Promise<StatementDescription> {
    try {
      const { paramTypes, columns } = readReply(
        await this.db.execProtocolRaw(describeMessages(sql)),
      );
      return { paramTypes, columns };
    } catch (e) {
      throw toPostgresError(e);
    }
  }

  async query<Row extends object>(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.db.query<Row>(sql, params)).rows;
    } catch (e) {
      throw toPostgresError(e);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.db.exec(sql);
    } catch (e) {
      throw toPostgresError(e);
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
