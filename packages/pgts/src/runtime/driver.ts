// What the runtime needs from a driver: run one statement with bound parameters and return
// raw text values, and run a function inside a transaction.

export interface RawResult {
  /** Result column names and type OIDs. */
  fields: Array<{ name: string; typeOid: number }>;
  /** Values as PostgreSQL's text output (null for NULL), one array per row. */
  rows: Array<Array<string | null>>;
  /** Rows affected by a command (or returned by a query). */
  rowCount: number;
}

export interface Driver {
  /**
   * Runs `text` with positional parameters `values`. `name` identifies the statement: a
   * driver that can keep prepared statements per connection prepares it once under that name.
   */
  run(name: string, text: string, values: unknown[]): Promise<RawResult>;
  /** Runs `fn` with a driver bound to one connection inside BEGIN ... COMMIT/ROLLBACK. */
  transaction<T>(fn: (driver: Driver) => Promise<T>): Promise<T>;
}
