// PGlite: named prepared statements through its raw protocol entry (Parse + Describe once
// per statement and instance, then Bind + Execute with text parameters), values returned
// as text for our own decoding. Every call holds PGlite's exclusive lock, a transaction for
// its whole length, so PGlite's own queries cannot slip in between.
import type { PGlite } from '@electric-sql/pglite';
import {
  describeMessages,
  executeMessages,
  readReply,
  simpleQueryMessage,
} from '../describe/protocol.js';
import { Database, type DatabaseOptions } from './database.js';
import type { Driver, RawResult } from './driver.js';
import { encodeParameter } from './encode.js';

interface PreparedStatement {
  paramTypes: number[];
  fields: RawResult['fields'];
}

class PgliteDriver implements Driver {
  constructor(
    private readonly db: PGlite,
    /** Statements prepared on this instance, by name. */
    private readonly prepared: Map<string, PreparedStatement>,
    /** Inside a transaction the lock is already held. */
    private readonly locked: boolean,
  ) {}

  run(name: string, text: string, values: unknown[]): Promise<RawResult> {
    const run = (): Promise<RawResult> => this.execute(name, text, values);
    return this.locked ? run() : this.db.runExclusive(run);
  }

  transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    if (this.locked) return Promise.reject(new Error('nested transactions are not supported'));
    return this.db.runExclusive(async () => {
      await this.simple('begin');
      try {
        const result = await fn(new PgliteDriver(this.db, this.prepared, true));
        await this.simple('commit');
        return result;
      } catch (e) {
        await this.simple('rollback');
        throw e;
      }
    });
  }

  private async execute(name: string, text: string, values: unknown[]): Promise<RawResult> {
    let statement = this.prepared.get(name);
    if (statement === undefined) {
      const description = readReply(await this.db.execProtocolRaw(describeMessages(text, name)));
      statement = {
        paramTypes: description.paramTypes,
        fields: description.columns.map((c) => ({ name: c.name, typeOid: c.typeOid })),
      };
      this.prepared.set(name, statement);
    }
    const params = values.map((v, k) => encodeParameter(v, statement.paramTypes[k]));
    const reply = readReply(await this.db.execProtocolRaw(executeMessages(name, params)));
    const counted = /(\d+)$/.exec(reply.commandTag ?? '');
    return {
      fields: statement.fields,
      rows: reply.rows,
      rowCount: counted?.[1] === undefined ? reply.rows.length : Number(counted[1]),
    };
  }

  private async simple(sql: string): Promise<void> {
    readReply(await this.db.execProtocolRaw(simpleQueryMessage(sql)));
  }
}

/** A typed database over a PGlite instance (the caller owns and closes it). */
export function pgliteDatabase(db: PGlite, options: DatabaseOptions = {}): Database {
  return new Database(new PgliteDriver(db, new Map(), false), options);
}
