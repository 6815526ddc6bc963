/**
 * xdrgen: an XDR-language (`.x`) compiler. Parses a specification (RFC 4506 section 6 with RPC
 * program definitions and rpcgen's spellings) and writes TypeScript types and @tsvirt/xdr codecs.
 */
export type * from './ast.js';
export { XdrSpecError, tokenize } from './lexer.js';
export { parseXdr } from './parser.js';
export {
  type EmitOptions,
  type Emitted,
  PRIMITIVE_TS,
  emitTypeScript,
  pascalCase,
} from './emit.js';

import { emitTypeScript, type EmitOptions } from './emit.js';
import { parseXdr } from './parser.js';
import { XdrSpecError } from './lexer.js';

/** Parse and emit in one step; `file` names the input in error messages. */
export function compileXdr(source: string, options: EmitOptions & { file?: string } = {}): string {
  const spec = parseXdr(source, options.file);
  try {
    return emitTypeScript(spec, options);
  } catch (e) {
    if (e instanceof XdrSpecError && options.file !== undefined) throw e.inFile(options.file);
    throw e;
  }
}
