// Opens the database the types come from: embedded PGlite with the project's schema file or
// migrations applied (the default: no server), or a real server.
import { messageOf } from '@tsvirt/cli-kit';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SchemaSource } from './config.js';
import type { SchemaConnection } from './describe/connection.js';
import { PostgresError } from './describe/connection.js';
import { openServerSchemaConnection } from './describe/pg-connection.js';
import { openPgliteSchemaConnection } from './describe/pglite-connection.js';
import { SchemaError } from './errors.js';

export async function openSchema(source: SchemaSource, root: string): Promise<SchemaConnection> {
  if (source.kind === 'database') {
    try {
      return await openServerSchemaConnection(source.url ?? process.env['DATABASE_URL']);
    } catch (e) {
      throw new SchemaError(
        `${messageOf(e)} (set DATABASE_URL or PGHOST/PGPORT/PGUSER/PGDATABASE)`,
      );
    }
  }
  const files = source.kind === 'schema' ? [source.file] : migrationFiles(source.dir);
  for (const f of files) if (!existsSync(f)) throw new SchemaError(`schema file ${f} not found`);
  const db = await openPgliteSchemaConnection();
  try {
    for (const file of files) await applyFile(db, file, root);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}

function migrationFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new SchemaError(`migrations directory ${dir} not found`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

async function applyFile(db: SchemaConnection, file: string, root: string): Promise<void> {
  const sql = readFileSync(file, 'utf8');
  try {
    await db.exec(sql);
  } catch (e) {
    if (!(e instanceof PostgresError)) throw e;
    let where = relative(root, file);
    if (e.position !== undefined) {
      const before = sql.slice(0, e.position - 1).split('\n');
      where += `:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
    }
    throw new SchemaError(`${where}: applying the schema failed: ${e.message}`);
  }
}
