export {
  connect,
  type ConnectOptions,
  type SshTransportOptions,
  type LibvirtConnection,
} from './connection.js';
export {
  LibvirtError,
  LibvirtTransportError,
  ErrorCode,
  errorCodeName,
  type TransportErrorCode,
} from './errors.js';
export { LibvirtStream } from './stream.js';
export * from './flags.js';
export * from './types.js';
export { Proc, type Procedure } from './protocol/procedures.js';
export { parseUri, type ParsedUri } from './uri.js';
export { sshBaseOptions } from './transport/ssh.js';
