// What the type inference needs from a database: describe a statement without running it
// (Parse + Describe, as PG'OCaml does) and run catalog queries. Two implementations:
// embedded PGlite (the default: no server) and a real server through node-postgres.
import type { StatementDescription } from '@tsvirt/pgts/internal';

export type { ColumnDescription, StatementDescription } from '@tsvirt/pgts/internal';

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

/** PostgreSQL's error as node-postgres and pg-protocol give it, with its fields as text. */
export interface DatabaseErrorFields {
  message: string;
  position?: string | undefined;
  code?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
}

/** A PostgresError from pg's (or pg-protocol's) DatabaseError; anything else unchanged. */
export function toPostgresError(e: unknown): unknown {
  if (!(e instanceof Error && 'code' in e)) return e;
  const err = e as Error & DatabaseErrorFields;
  return new PostgresError(
    err.message,
    err.position === undefined ? undefined : Number(err.position),
    err.code,
    err.detail,
    err.hint,
  );
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
