// What the type inference needs from a database: describe a statement without running it
// (Parse + Describe, as PG'OCaml does) and run catalog queries. Two implementations:
// embedded PGlite (the default: no server) and a real server through node-postgres.

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

/** An error PostgreSQL reported, with its 1-based character position when it gave one. */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined,
    readonly sqlState: string | undefined,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

export interface SchemaConnection {
  /** Parse + Describe of an unnamed statement; throws PostgresError when PostgreSQL refuses it. */
  describe(sql: string): Promise<StatementDescription>;
  /** Runs SQL (one statement when params are given) and returns its rows as objects. */
  query<Row extends object>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (schema, migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** What the user sees in messages: "PGlite (PostgreSQL 17)", "postgresql://.../db". */
  readonly label: string;
}
