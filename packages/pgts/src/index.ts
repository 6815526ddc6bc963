// @tsvirt/pgts: SQL checked at compile time against PostgreSQL.
// Runtime API (what application code imports):
export { Database, type DatabaseOptions, type Transaction } from './runtime/database.js';
export { pgDatabase } from './runtime/pg-driver.js';
export { pgliteDatabase } from './runtime/pglite-driver.js';
export type { Driver, RawResult } from './runtime/driver.js';
export type {
  Json,
  ParamArgs,
  ParamsOf,
  Queries,
  Queryable,
  QueryText,
  RowOf,
} from './runtime/queries.js';
export {
  ConfigError,
  DescribeError,
  ParameterError,
  PgtsError,
  RowCountError,
  SchemaError,
  SqlSyntaxError,
} from './errors.js';
export { rewritePlaceholders, type Placeholder, type RewrittenSql } from './sql/placeholders.js';
