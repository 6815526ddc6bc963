// Typed errors. Plugins and filters throw NbdError (or any Node system error carrying an
// errno `code`); the server turns it into the NBD error number the client sees.
import { NbdErrno, type NbdErrnoName } from './protocol/constants.js';

/** An error a plugin raises for one request; `errno` is what the client receives. */
export class NbdError extends Error {
  readonly code: NbdErrnoName;
  constructor(code: NbdErrnoName, message: string) {
    super(message);
    this.name = 'NbdError';
    this.code = code;
  }
}

/** Bad configuration or command line: printed without a stack trace. */
export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The peer broke the protocol: the connection is closed. */
export class ProtocolError extends Error {
  readonly code = 'EPROTO';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// System errno names that have no NBD number of their own.
const ERRNO_ALIASES: Record<string, NbdErrnoName> = {
  EROFS: 'EPERM',
  EACCES: 'EPERM',
  EFBIG: 'ENOSPC',
  EDQUOT: 'ENOSPC',
  EOPNOTSUPP: 'ENOTSUP',
  ENOSYS: 'ENOTSUP',
  ERANGE: 'EINVAL',
  ETIMEDOUT: 'EIO',
};

/** The errno name to put on the wire for anything a plugin threw. */
export function errnoNameOf(err: unknown): NbdErrnoName {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'string') {
    if (code in NbdErrno) return code as NbdErrnoName;
    const alias = ERRNO_ALIASES[code];
    if (alias) return alias;
  }
  return 'EIO';
}

export function errnoOf(err: unknown): number {
  return NbdErrno[errnoNameOf(err)];
}

export { messageOf } from '@tsvirt/cli-kit';
