// @tsvirt/pgts: SQL checked at compile time against PostgreSQL; what application code
// imports at run time. The drivers are in their own entry points, so that an application
// loads only the one it uses: `@tsvirt/pgts/pg` (node-postgres) and `@tsvirt/pgts/pglite`.
export { Database, type DatabaseOptions, type Transaction } from './runtime/database.js';
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
export { ParameterError, PgtsError, RowCountError, SqlSyntaxError } from './errors.js';
export { rewritePlaceholders, type Placeholder, type RewrittenSql } from './sql/placeholders.js';
