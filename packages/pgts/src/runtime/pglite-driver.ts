// PGlite: parameters bound through its extended-protocol query(); values returned as text
// (every parser replaced by the identity) for our own decoding.
import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { Database, type DatabaseOptions } from './database.js';
import type { Driver, RawResult } from './driver.js';

const textOnly = new Proxy({}, { get: () => (value: string) => value });

class PgliteDriver implements Driver {
  constructor(private readonly db: PGlite | PgliteTransaction) {}

  async run(_name: string, text: string, values: unknown[]): Promise<RawResult> {
    const result = await this.db.query<Array<string | null>>(text, values, {
      rowMode: 'array',
      parsers: textOnly,
    });
    return {
      fields: result.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
      rows: result.rows,
      rowCount: result.affectedRows ?? result.rows.length,
    };
  }

  async transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    if (!('transaction' in this.db)) throw new Error('nested transactions are not supported');
    return this.db.transaction((tx) => fn(new PgliteDriver(tx)));
  }
}

/** A typed database over a PGlite instance (the caller owns and closes it). */
export function pgliteDatabase(db: PGlite, options: DatabaseOptions = {}): Database {
  return new Database(new PgliteDriver(db), options);
}
