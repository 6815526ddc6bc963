// @tsvirt/pgts/tooling: what the `pgts` command uses (TypeScript compiler API, PGlite),
// for build integrations. Kept apart so that applications importing the runtime never load
// the compiler.
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
