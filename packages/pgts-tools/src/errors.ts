// The errors of the tooling; each has a stable `code` (PgtsError, from the runtime package).
import { PgtsError } from '@tsvirt/pgts';

export { PgtsError, SqlSyntaxError } from '@tsvirt/pgts';

/** PostgreSQL refused the query while describing it (syntax, unknown column, type error). */
export class DescribeError extends PgtsError {
  constructor(
    message: string,
    /** 0-based offset in the SQL text as written, when PostgreSQL gave a position. */
    readonly offset: number | undefined,
    readonly sqlState: string | undefined,
  ) {
    super('PGTS_DESCRIBE', message);
  }
}

/** pgts.config.json is missing, unreadable or wrong. */
export class ConfigError extends PgtsError {
  constructor(message: string) {
    super('PGTS_CONFIG', message);
  }
}

/** The schema (schema file or migrations) could not be applied. */
export class SchemaError extends PgtsError {
  constructor(message: string) {
    super('PGTS_SCHEMA', message);
  }
}
