// PGlite: named prepared statements through its raw protocol entry (Parse + Describe once
// per statement and instance, then Bind + Execute with text parameters), values returned
// as text for our own decoding. Every call holds PGlite's exclusive lock, a transaction for
// its whole length, so PGlite's own queries cannot slip in between.
import type { PGlite } from '@electric-sql/pglite';
import { DatabaseError } from 'pg-protocol/dist/messages.js';
import { Database, type DatabaseOptions } from './database.js';
import type { Driver, RawResult } from './driver.js';
import { encodeParameter } from './encode.js';
import {
  describeMessages,
  describePreparedMessages,
  DUPLICATE_PREPARED_STATEMENT,
  executeMessages,
  readReply,
  simpleQueryMessage,
} from './protocol.js';

interface PreparedStatement {
  paramTypes: number[];
  fields: RawResult['fields'];
}

/**
 * Statements prepared on each PGlite instance, by name: an instance is one PostgreSQL
 * session, shared by every pgliteDatabase() made over it. A promise, so that two calls that
 * meet the same new statement at once parse it once.
 */
const preparedByInstance = new WeakMap<PGlite, Map<string, Promise<PreparedStatement>>>();

class PgliteDriver implements Driver {
  private readonly prepared: Map<string, Promise<PreparedStatement>>;

  constructor(
    private readonly db: PGlite,
    /** Inside a transaction the lock is already held. */
    private readonly locked: boolean,
  ) {
    let prepared = preparedByInstance.get(db);
    if (prepared === undefined) {
      prepared = new Map();
      preparedByInstance.set(db, prepared);
    }
    this.prepared = prepared;
  }

  run(name: string, text: string, values: unknown[]): Promise<RawResult> {
    const run = (): Promise<RawResult> => this.execute(name, text, values);
    return this.locked ? run() : this.db.runExclusive(run);
  }

  transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
    if (this.locked) return Promise.reject(new Error('nested transactions are not supported'));
    return this.db.runExclusive(async () => {
      await this.simple('begin');
      try {
        const result = await fn(new PgliteDriver(this.db, true));
        await this.simple('commit');
        return result;
      } catch (e) {
        await this.simple('rollback');
        throw e;
      }
    });
  }

  private async execute(name: string, text: string, values: unknown[]): Promise<RawResult> {
    const statement = await this.statement(name, text);
    const params = values.map((v, k) => encodeParameter(v, statement.paramTypes[k]));
    const reply = readReply(await this.db.execProtocolRaw(executeMessages(name, params)));
    const counted = /(\d+)$/.exec(reply.commandTag ?? '');
    return {
      fields: statement.fields,
      rows: reply.rows,
      rowCount: counted?.[1] === undefined ? reply.rows.length : Number(counted[1]),
    };
  }

  private statement(name: string, text: string): Promise<PreparedStatement> {
    let statement = this.prepared.get(name);
    if (statement === undefined) {
      statement = this.prepare(name, text);
      this.prepared.set(name, statement);
      // A failed Parse (bad SQL, an aborted transaction) leaves nothing prepared.
      statement.catch(() => this.prepared.delete(name));
    }
    return statement;
  }

  private async prepare(name: string, text: string): Promise<PreparedStatement> {
    let description;
    try {
      description = readReply(await this.db.execProtocolRaw(describeMessages(text, name)));
    } catch (e) {
      // Prepared by another copy of pgts on this instance: names are hashes of the text, so
      // the statement there is this one.
      if (!(e instanceof DatabaseError && e.code === DUPLICATE_PREPARED_STATEMENT)) throw e;
      description = readReply(await this.db.execProtocolRaw(describePreparedMessages(name)));
    }
    return {
      paramTypes: description.paramTypes,
      fields: description.columns.map((c) => ({ name: c.name, typeOid: c.typeOid })),
    };
  }

  private async simple(sql: string): Promise<void> {
    readReply(await this.db.execProtocolRaw(simpleQueryMessage(sql)));
  }
}

/** A typed database over a PGlite instance (the caller owns and closes it). */
export function pgliteDatabase(db: PGlite, options: DatabaseOptions = {}): Database {
  return new Database(new PgliteDriver(db, false), options);
}
