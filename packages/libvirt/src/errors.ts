/**
 * Errors. Two kinds, so callers can tell them apart:
 * - LibvirtError: the daemon answered, and the answer is an error (unknown domain, bad XML...).
 * - LibvirtTransportError: we could not reach the daemon or lost it (refused, ssh failed,
 *   timeout, connection dropped, garbage on the wire).
 */

import { ERROR_CODE_NAMES } from './constants.generated.js';

export { ErrorCode, ErrorDomain, ErrorLevel } from './constants.generated.js';

/** The C name of an error code, e.g. 42 -> 'VIR_ERR_NO_DOMAIN'. */
export function errorCodeName(code: number): string {
  return ERROR_CODE_NAMES.get(code) ?? `VIR_ERR_UNKNOWN_${code}`;
}

/** An error reply from the daemon, with libvirt's own code, domain (subsystem) and message. */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  /** virErrorNumber, e.g. 42 (ErrorCode.NO_DOMAIN). */
  readonly code: number;
  /** virErrorDomain: which part of libvirt raised it, e.g. 10 (ErrorDomain.QEMU). */
  readonly domain: number;
  /** virErrorLevel: 1 warning, 2 error (ErrorLevel). */
  readonly level: number;
  /** e.g. 'VIR_ERR_NO_DOMAIN'. */
  readonly codeName: string;
  /** The procedure that failed, e.g. 'DOMAIN_LOOKUP_BY_NAME'. */
  readonly procedure: string;

  constructor(fields: {
    code: number;
    domain: number;
    level: number;
    message: string;
    procedure: string;
  }) {
    super(fields.message);
    this.code = fields.code;
    this.domain = fields.domain;
    this.level = fields.level;
    this.codeName = errorCodeName(fields.code);
    this.procedure = fields.procedure;
  }
}

export type TransportErrorCode =
  | 'ECONNREFUSED' // nothing listens on the socket or port
  | 'ENOENT' // the unix socket does not exist (daemon not running)
  | 'EACCES' // not allowed to open the socket
  | 'SSH_FAILED' // ssh could not connect, authenticate or run the remote helper
  | 'TIMEOUT' // connect timeout, or keepalive found the daemon unresponsive
  | 'CLOSED' // the connection was closed (by us or the peer) while a call was pending
  | 'PROTOCOL' // the peer sent something that is not libvirt's protocol
  | 'AUTH_UNSUPPORTED' // the daemon asks for an authentication method we do not speak
  | 'INVALID_URI'; // the connection URI cannot be used

/** The daemon cannot be reached, or the connection to it was lost. `message` is short and fit
 *  to show a user as is, e.g. "ssh: connect to host 127.0.2.14 port 22: Connection refused". */
export class LibvirtTransportError extends Error {
  override readonly name = 'LibvirtTransportError';
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
