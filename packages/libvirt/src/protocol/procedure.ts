import type { Codec } from '@tsvirt/xdr';
import { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './remote.generated.js';

/** One procedure of the remote program: its number, and the codecs of its arguments and reply. */
export interface Procedure<Args, Ret> {
  readonly program: number;
  readonly version: number;
  readonly number: number;
  /** REMOTE_PROC_<name> without the prefix, for error messages. */
  readonly name: string;
  readonly args: Codec<Args>;
  readonly ret: Codec<Ret>;
}

export function procedure<A, R>(
  number: number,
  name: string,
  args: Codec<A>,
  ret: Codec<R>,
): Procedure<A, R> {
  return { program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, number, name, args, ret };
}
