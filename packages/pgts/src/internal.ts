// @tsvirt/pgts/internal: what @tsvirt/pgts-tools shares with the runtime, so that the
// generated types and the run-time values follow the same rules. Not a stable API.
export { splitOverride } from './sql/column-override.js';
export { type ParamKind } from './sql/placeholders.js';
export {
  tsTypeOfKind,
  valueKind,
  type DateMode,
  type Int8Mode,
  type ValueKind,
} from './types/pg-types.js';
export {
  describeMessages,
  readReply,
  type ColumnDescription,
  type StatementDescription,
} from './runtime/protocol.js';
