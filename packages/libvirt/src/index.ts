export {
  connect,
  LibvirtConnection,
  type ConnectOptions,
  type SshTransportOptions,
} from './connection.js';
export {
  LibvirtError,
  LibvirtTransportError,
  ErrorCode,
  ErrorDomain,
  ErrorLevel,
  errorCodeName,
  type TransportErrorCode,
} from './errors.js';
export { LibvirtStream, StreamHole } from './stream.js';
export { readSparseFile, writeSparseFile } from './sparse-file.js';
export * from './constants.generated.js';
export * from './flags.js';
export * from './types.js';
export * from './typed-params.js';
export type * from './events.generated.js';
export type { Unsubscribe } from './events.js';
export { PROTOCOL_COVERAGE } from './coverage.generated.js';
export { Proc, LIBVIRT_VERSION } from './protocol/procedures.generated.js';
export type { Procedure } from './protocol/procedure.js';
/** Every type of the remote protocol (argument and reply structs...), by its generated name. */
export type * as protocol from './protocol/remote.generated.js';
export { parseUri, type ParsedUri } from './uri.js';
export { sshBaseOptions } from './transport/ssh.js';
