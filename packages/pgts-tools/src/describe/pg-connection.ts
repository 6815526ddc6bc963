import { messageOf } from '@tsvirt/cli-kit';
import pg from 'pg';
import {
  PostgresError,
  toPostgresError,
  type ColumnDescription,
  type DatabaseErrorFields,
  type SchemaConnection,
  type StatementDescription,
} from './connection.js';

/** A real server, reached with node-postgres (DATABASE_URL or the PG* variables). */
export async function openServerSchemaConnection(
  connectionString?: string,
): Promise<SchemaConnection> {
  const client = new pg.Client(connectionString === undefined ? {} : { connectionString });
  try {
    await client.connect();
  } catch (e) {
    throw new PostgresError(`cannot connect to PostgreSQL: ${messageOf(e)}`, undefined, undefined);
  }
  const label = `PostgreSQL at ${client.host}:${client.port}/${client.database ?? ''}`;
  return new ServerSchemaConnection(client, label);
}

/** Minimal view of the parts of pg's Connection a describe uses (not in @types/pg). */
interface WireConnection {
  parse(query: { name: string; text: string; types: number[] }): void;
  describe(msg: { type: 'S'; name: string }): void;
  sync(): void;
  once(event: 'parameterDescription', listener: (msg: { dataTypeIDs: number[] }) => void): void;
}

interface RowDescriptionMessage {
  fields: Array<{ name: string; tableID: number; columnID: number; dataTypeID: number }>;
}

/**
 * A "submittable" (pg's extension point for custom protocol flows): Parse + Describe + Sync,
 * collecting ParameterDescription and RowDescription; settles at ReadyForQuery.
 */
class DescribeSubmittable {
  private readonly result: StatementDescription = { paramTypes: [], columns: [] };
  readonly done: Promise<StatementDescription>;
  private settle!: (error: PostgresError | undefined) => void;

  constructor(private readonly sql: string) {
    this.done = new Promise((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve(this.result) : reject(error));
    });
  }

  submit(connection: WireConnection): void {
    connection.once('parameterDescription', (msg) => {
      this.result.paramTypes = [...msg.dataTypeIDs];
    });
    connection.parse({ name: '', text: this.sql, types: [] });
    connection.describe({ type: 'S', name: '' });
    connection.sync();
  }

  handleRowDescription(msg: RowDescriptionMessage): void {
    this.result.columns = msg.fields.map((f): ColumnDescription => ({
      name: f.name,
      typeOid: f.dataTypeID,
      tableOid: f.tableID,
      attnum: f.columnID,
    }));
  }

  // pg forgets the active query on an error and never calls handleReadyForQuery: settle now
  // (the client still waits for ReadyForQuery before it sends anything else).
  handleError(err: DatabaseErrorFields): void {
    this.settle(
      new PostgresError(
        err.message,
        err.position === undefined ? undefined : Number(err.position),
        err.code,
        err.detail,
        err.hint,
      ),
    );
  }

  handleReadyForQuery(): void {
    this.settle(undefined);
  }

  // pg calls these for other messages; a describe never receives them.
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

class ServerSchemaConnection implements SchemaConnection {
  constructor(
    private readonly client: pg.Client,
    readonly label: string,
  ) {}

  async describe(sql: string): Promise<StatementDescription> {
    const submittable = new DescribeSubmittable(sql);
    // pg's typings have no overload for a submittable; given one, pg returns it (no promise):
    // the outcome arrives through `done`.
    void this.client.query(submittable as unknown as pg.QueryConfig);
    return submittable.done;
  }

  async query<Row extends object>(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.client.query<Row & pg.QueryResultRow>(sql, params)).rows;
    } catch (e) {
      throw toPostgresError(e);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (e) {
      throw toPostgresError(e);
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
