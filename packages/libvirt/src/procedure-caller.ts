import type { Procedure } from './protocol/procedure.js';
import type { LibvirtStream } from './stream.js';

/**
 * What the generated methods (methods.generated.ts) need from a connection: calls, streams,
 * and libvirt's way of fetching a list whose length the caller does not know yet.
 */
export abstract class ProcedureCaller {
  /** Calls any procedure of the remote program (Proc.x) and returns its decoded reply. */
  abstract call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R>;

  /** Calls a procedure that opens a stream; resolves once the daemon accepted it. */
  protected abstract openStream<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    sparse: boolean,
  ): Promise<{ stream: LibvirtStream; result: R }>;

  /**
   * libvirt's typed-parameter getters: asked with nparams 0 they answer how many there are,
   * then asked for that many they answer them.
   */
  protected async callCounted<A extends { nparams: number }, P>(
    procedure: Procedure<A, { params: P[]; nparams: number }>,
    args: Omit<A, 'nparams'>,
  ): Promise<P[]> {
    const { nparams } = await this.call(procedure, { ...args, nparams: 0 } as A);
    if (nparams === 0) return [];
    return (await this.call(procedure, { ...args, nparams } as A)).params;
  }
}
