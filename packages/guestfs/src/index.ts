export * from './protocol/procedures.generated.js';
export type { FileInSource, FileOutTarget, ProcedureInfo } from './protocol/procedure.js';
export type { CallOptions, Progress } from './rpc/session.js';
export { GuestfsHandle } from './handle.js';
export { Guestfs } from './guestfs.js';
export * from './errors.js';
