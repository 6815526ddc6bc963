import { PGlite } from '@electric-sql/pglite';
import type { SchemaConnection, StatementDescription } from './connection.js';
import { PostgresError } from './connection.js';
import { describeMessages, readReply } from './protocol.js';

/** An in-memory PGlite: the default source of types, no server needed. */
export async function openPgliteSchemaConnection(): Promise<SchemaConnection> {
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
    const reply = await this.db.execProtocolRaw(describeMessages(sql));
    const { paramTypes, columns } = readReply(reply);
    return { paramTypes, columns };
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

function toPostgresError(e: unknown): unknown {
  if (e instanceof Error && 'code' in e) {
    const fields = e as Error & { code?: string; position?: string };
    return new PostgresError(
      e.message,
      fields.position === undefined ? undefined : Number(fields.position),
      fields.code,
    );
  }
  return e;
}
