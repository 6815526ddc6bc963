/** Every error pgts raises on purpose: a stable `code` for programs, a message for people. */
export class PgtsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A query's SQL text is malformed before it reaches PostgreSQL (bad placeholder...). */
export class SqlSyntaxError extends PgtsError {
  constructor(
    message: string,
    /** 0-based offset in the SQL text as written. */
    readonly offset: number,
  ) {
    super('PGTS_SQL_SYNTAX', message);
  }
}

/** A query at run time returned a number of rows the call does not allow (`one`, `maybeOne`). */
export class RowCountError extends PgtsError {
  constructor(
    readonly expected: string,
    readonly actual: number,
    readonly sql: string,
  ) {
    super('PGTS_ROW_COUNT', `expected ${expected} row(s), got ${actual}: ${sql}`);
  }
}

/** A parameter value at run time is missing or not of a bindable kind. */
export class ParameterError extends PgtsError {
  constructor(message: string) {
    super('PGTS_PARAMETER', message);
  }
}
