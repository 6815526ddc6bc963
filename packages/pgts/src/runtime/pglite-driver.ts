// PGlite: parameters bound through its extended-protocol query(); values returned as text
// (every parser replaced by the identity) for our own decoding.
import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { Database, type DatabaseOptions } from './database.js';
import type { Driver, RawResult } from './driver.js';

const identity = (value: string): string => value;

class PgliteDriver implements Driver {
  private textOnly: Record<string, typeof identity> = {};

  constructor(
    private readonly db: PGlite | PgliteTransaction,
    /** The instance whose parser table (it grows as PGlite learns array types) we override. */
    private readonly root: PGlite,
  ) {}

  /** PGlite merges per-query parsers over its own with a spread: every key must be present. */
  private parsers(): Record<string, typeof identity> {
    const known = Object.keys(this.root.parsers);
    if (known.length !== Object.keys(this.textOnly).length) {
      this.textOnly = Object.fromEntries(known.map((oid) => [oid, identity]));
    }
    return this.textOnly;
  }

  async run(_name: string, text: string, values: unknown[]): Promise<RawResult> {
    const result = await this.db.query<Array<string | null>>(text, values, {
      rowMode: 'array',
      parsers: this.parsers(),
    });
    return {
      fields: result.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
      rows: result.rows,
      rowCount: result.affectedRows ?? result.rows.length,
    };
  }

  async transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    if (!('transaction' in this.db)) throw new Error('nested transactions are not supported');
    return this.db.transaction((tx) => fn(new PgliteDriver(tx, this.root)));
  }
}

/** A typed database over a PGlite instance (the caller owns and closes it). */
export function pgliteDatabase(db: PGlite, options: DatabaseOptions = {}): Database {
  return new Database(new PgliteDriver(db, db), options);
}
