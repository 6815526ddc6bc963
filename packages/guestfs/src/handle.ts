import type { RpcSession } from './rpc/session.js';
import { type CallOptions } from './rpc/session.js';
import type { FileTransfer, ProcedureInfo } from './protocol/procedure.js';
import { GuestfsProcedures } from './protocol/procedures.generated.js';

/** What a handle is connected to: the session, and how to stop whatever runs the daemon. */
export interface HandleCore {
  readonly session: RpcSession;
  /** Ends the session and stops the daemon's host (qemu); idempotent. */
  shutdown(): Promise<void>;
  /** The qemu process running the appliance, when there is one. */
  readonly pid?: number | undefined;
}

/**
 * The raw procedures of a connected daemon, with library-side argument handling: optional
 * arguments become the struct fields and bitmask, results are unwrapped from their return
 * struct. `with()` gives a view whose calls carry options (timeout, signal, progress).
 */
export class GuestfsHandle extends GuestfsProcedures {
  /** @internal */
  constructor(
    protected readonly core: HandleCore,
    protected readonly callOptions: CallOptions = {},
  ) {
    super();
  }

  /** The same handle, with these options on each call made through the returned view. */
  with(options: CallOptions): this {
    const view = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(view, this, { callOptions: { ...this.callOptions, ...options } });
    return view;
  }

  protected override async invoke(
    procedure: ProcedureInfo,
    args: object,
    options: object | undefined,
    file: FileTransfer | null,
  ): Promise<unknown> {
    const given = (options ?? {}) as Record<string, unknown>;
    const struct: Record<string, unknown> = { ...args };
    let mask = 0n;
    let bit = 0n;
    for (const [name, fallback] of Object.entries(procedure.optargs)) {
      const value = given[name];
      if (value === undefined) {
        struct[name] = fallback;
      } else {
        mask |= 1n << bit;
        struct[name] =
          typeof fallback === 'bigint' && typeof value === 'number'
            ? BigInt(value)
            : Array.isArray(value)
              ? [...(value as unknown[])]
              : value;
      }
      bit++;
    }
    for (const name of Object.keys(given)) {
      if (!(name in procedure.optargs) && given[name] !== undefined) {
        throw new TypeError(
          `${procedure.name} has no optional argument "${name}" (it has: ${Object.keys(procedure.optargs).join(', ') || 'none'})`,
        );
      }
    }
    const ret = await this.core.session.call(procedure, struct, mask, file, this.callOptions);
    return unwrap(procedure, ret);
  }
}

function unwrap(procedure: ProcedureInfo, ret: unknown): unknown {
  const result = procedure.result;
  if (result.kind === 'void') return undefined;
  const value = (ret as Record<string, unknown>)[result.field];
  if (result.kind === 'hashtable') {
    const list = value as string[];
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < list.length; i += 2) {
      // defineProperty: a key such as "__proto__" must stay a plain key.
      Object.defineProperty(record, list[i]!, {
        value: list[i + 1]!,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return record;
  }
  // Buffers out of a reply are views into the received message: give the caller its own copy.
  return value instanceof Uint8Array ? Buffer.from(value) : value;
}

export { type CallOptions };
