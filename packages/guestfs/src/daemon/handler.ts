/**
 * The type of a procedure's implementation, derived from the generated procedure table: it
 * takes the decoded argument struct (optional arguments absent unless the caller's bitmask
 * gave them) and returns the return struct's one field.
 */
import type { Infer } from '@tsvirt/xdr';
import type { ProcedureName, procedures } from '../protocol/procedures.generated.js';
import type { Call } from './call.js';

type Table = typeof procedures;
type ArgStruct<N extends ProcedureName> = Table[N]['args'] extends null
  ? Record<never, never>
  : Infer<Table[N]['args']>;
type OptionalName<N extends ProcedureName> = keyof Table[N]['optargs'] & keyof ArgStruct<N>;
type RetStruct<N extends ProcedureName> = Infer<Table[N]['ret']>;

export type HandlerArgs<N extends ProcedureName> = Omit<ArgStruct<N>, OptionalName<N>> &
  Partial<Pick<ArgStruct<N>, OptionalName<N>>>;

export type HandlerResult<N extends ProcedureName> = Table[N]['result'] extends {
  readonly field: infer F extends keyof RetStruct<N>;
}
  ? RetStruct<N>[F]
  : void;

export type Handler<N extends ProcedureName> = (
  args: HandlerArgs<N>,
  call: Call,
) => Promise<HandlerResult<N>>;

/** Implementations by procedure name; a procedure without one is not supported. */
export type Handlers = { readonly [N in ProcedureName]?: Handler<N> };
