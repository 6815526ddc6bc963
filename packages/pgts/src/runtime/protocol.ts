// The frontend/backend protocol exchanges pgts runs through PGlite's raw protocol entry
// (execProtocolRaw), written and read with pg-protocol, the implementation node-postgres
// uses: a describe that keeps the table OID and column number of every result column
// (PGlite's own describeQuery() drops those two), and named prepared statements at run time
// (Parse once, then Bind + Execute). Errors are pg-protocol's DatabaseError, as with pg.
// pg-protocol's modules are imported one by one: its ESM entry re-exports the CommonJS one in
// a way Node before 20.19 cannot read named exports from.
import {
  CommandCompleteMessage,
  DatabaseError,
  DataRowMessage,
  ParameterDescriptionMessage,
  RowDescriptionMessage,
} from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { serialize } from 'pg-protocol/dist/serializer.js';

export interface ColumnDescription {
  name: string;
  typeOid: number;
  /** OID of the table (or view) the column comes from, 0 for an expression. */
  tableOid: number;
  /** Column number in that table, 0 for an expression. */
  attnum: number;
}

export interface StatementDescription {
  paramTypes: number[];
  /** Empty for a statement that returns no rows. */
  columns: ColumnDescription[];
}

export interface Reply extends StatementDescription {
  /** Data rows as text (null for NULL). */
  rows: Array<Array<string | null>>;
  /** The last CommandComplete tag, e.g. "UPDATE 2". */
  commandTag: string | undefined;
}

/** SQLSTATE of Parse under a name that is already taken. */
export const DUPLICATE_PREPARED_STATEMENT = '42P05';

/** Parse (no parameter types given: PostgreSQL infers them) + Describe statement + Sync. */
export function describeMessages(sql: string, name = ''): Uint8Array {
  return Buffer.concat([
    serialize.parse({ name, text: sql, types: [] }),
    serialize.describe({ type: 'S', name }),
    serialize.sync(),
  ]);
}

/** Describe of a statement prepared earlier + Sync. */
export function describePreparedMessages(name: string): Uint8Array {
  return Buffer.concat([serialize.describe({ type: 'S', name }), serialize.sync()]);
}

/** Bind (text parameters, text results) + Execute (all rows) + Sync. */
export function executeMessages(name: string, values: Array<string | null>): Uint8Array {
  return Buffer.concat([
    serialize.bind({ statement: name, values }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

/** A simple query (BEGIN, COMMIT, ROLLBACK). */
export function simpleQueryMessage(sql: string): Uint8Array {
  return serialize.query(sql);
}

/** Reads the backend's answer. Throws pg-protocol's DatabaseError for an ErrorResponse. */
export function readReply(reply: Uint8Array): Reply {
  const result: Reply = { paramTypes: [], columns: [], rows: [], commandTag: undefined };
  let error: DatabaseError | undefined;
  new Parser().parse(Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength), (message) => {
    if (message instanceof DataRowMessage) {
      result.rows.push(message.fields as Array<string | null>);
    } else if (message instanceof RowDescriptionMessage) {
      result.columns = message.fields.map((f) => ({
        name: f.name,
        typeOid: f.dataTypeID,
        tableOid: f.tableID,
        attnum: f.columnID,
      }));
    } else if (message instanceof ParameterDescriptionMessage) {
      result.paramTypes = message.dataTypeIDs;
    } else if (message instanceof CommandCompleteMessage) {
      result.commandTag = message.text;
    } else if (message instanceof DatabaseError) {
      // The first error is the cause; after it the backend skips to Sync.
      error ??= message;
    }
  });
  if (error !== undefined) throw error;
  return result;
}
