import { DrvFeature, TypedParameterFlags } from './constants.generated.js';
import type { Procedure } from './protocol/procedure.js';
import { Proc } from './protocol/procedures.generated.js';
import type { LibvirtStream } from './stream.js';

/**
 * What the generated methods (methods.generated.ts) need from a connection: calls, streams,
 * and libvirt's way of fetching a list whose length the caller does not know yet.
 */
export abstract class ProcedureCaller {
  private typedParamStrings: Promise<number> | null = null;
  /** Calls any procedure of the remote program (Proc.x) and returns its decoded reply. */
  abstract call<A, R>(procedure: Procedure<A, R>, args: A): Promise<R>;

  /** Calls a procedure that opens a stream; resolves once the daemon accepted it. */
  protected abstract openStream<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    sparse: boolean,
  ): Promise<{ stream: LibvirtStream; result: R }>;

  /**
   * VIR_TYPED_PARAM_STRING_OKAY if the daemon's driver can send string typed parameters, else
   * 0: what libvirt's C library adds to the flags of the getters that take it (the strings,
   * e.g. a block device's `group_name`, are left out without it). Asked once per connection.
   */
  protected typedParamStringsFlag(): Promise<number> {
    this.typedParamStrings ??= this.call(Proc.connectSupportsFeature, {
      feature: DrvFeature.TYPED_PARAM_STRING,
    }).then((r) => (r.supported !== 0 ? TypedParameterFlags.STRING_OKAY : 0));
    return this.typedParamStrings;
  }

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
