// @tsvirt/pgts-tools: what the `pgts` command uses (TypeScript compiler API, PGlite, the
// PostgreSQL parser), for build integrations. Applications never import it: they depend on
// @tsvirt/pgts and their driver only.
export { loadConfig, parseConfig, type PgtsConfig, type SchemaSource } from './config.js';
export { PgtsProject, type Problem, type RunResult } from './project.js';
export {
  QueryAnalyzer,
  type ColumnShape,
  type ParamShape,
  type QueryShape,
} from './infer/analyze.js';
export { DEFAULT_TYPE_MAPPING, type TypeMappingOptions } from './infer/ts-types.js';
export { openSchema } from './schema.js';
export type { SchemaConnection } from './describe/connection.js';
export { ConfigError, DescribeError, SchemaError } from './errors.js';
