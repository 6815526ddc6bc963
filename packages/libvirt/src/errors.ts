/**
 * Errors. Two kinds, so callers can tell them apart:
 * - LibvirtError: the daemon answered, and the answer is an error (unknown domain, bad XML...).
 * - LibvirtTransportError: we could not reach the daemon or lost it (refused, ssh failed,
 *   timeout, connection dropped, garbage on the wire).
 */

/** libvirt's virErrorNumber values (include/libvirt/virterror.h). */
export const ErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  UNKNOWN_HOST: 4,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  GET_FAILED: 10,
  POST_FAILED: 11,
  HTTP_ERROR: 12,
  SEXPR_SERIAL: 13,
  NO_XEN: 14,
  XEN_CALL: 15,
  OS_TYPE: 16,
  NO_KERNEL: 17,
  NO_ROOT: 18,
  NO_SOURCE: 19,
  NO_TARGET: 20,
  NO_NAME: 21,
  NO_OS: 22,
  NO_DEVICE: 23,
  NO_XENSTORE: 24,
  DRIVER_FULL: 25,
  CALL_FAILED: 26,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  OPEN_FAILED: 30,
  READ_FAILED: 31,
  PARSE_FAILED: 32,
  CONF_SYNTAX: 33,
  WRITE_FAILED: 34,
  XML_DETAIL: 35,
  INVALID_NETWORK: 36,
  NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38,
  RPC: 39,
  GNUTLS_ERROR: 40,
  NO_NETWORK_WARNING: 41,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  INVALID_MAC: 44,
  AUTH_FAILED: 45,
  INVALID_STORAGE_POOL: 46,
  INVALID_STORAGE_VOL: 47,
  NO_STORAGE_WARNING: 48,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  NO_NODE_WARNING: 51,
  INVALID_NODE_DEVICE: 52,
  NO_NODE_DEVICE: 53,
  NO_SECURITY_MODEL: 54,
  OPERATION_INVALID: 55,
  NO_INTERFACE_WARNING: 56,
  NO_INTERFACE: 57,
  INVALID_INTERFACE: 58,
  MULTIPLE_INTERFACES: 59,
  NO_NWFILTER_WARNING: 60,
  INVALID_NWFILTER: 61,
  NO_NWFILTER: 62,
  BUILD_FIREWALL: 63,
  NO_SECRET_WARNING: 64,
  INVALID_SECRET: 65,
  NO_SECRET: 66,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  MIGRATE_PERSIST_FAILED: 69,
  HOOK_SCRIPT_FAILED: 70,
  INVALID_DOMAIN_SNAPSHOT: 71,
  NO_DOMAIN_SNAPSHOT: 72,
  INVALID_STREAM: 73,
  ARGUMENT_UNSUPPORTED: 74,
  STORAGE_PROBE_FAILED: 75,
  STORAGE_POOL_BUILT: 76,
  SNAPSHOT_REVERT_RISKY: 77,
  OPERATION_ABORTED: 78,
  AUTH_CANCELLED: 79,
  NO_DOMAIN_METADATA: 80,
  MIGRATE_UNSAFE: 81,
  OVERFLOW: 82,
  BLOCK_COPY_ACTIVE: 83,
  OPERATION_UNSUPPORTED: 84,
  SSH: 85,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  DBUS_SERVICE: 89,
  STORAGE_VOL_EXIST: 90,
  CPU_INCOMPATIBLE: 91,
  XML_INVALID_SCHEMA: 92,
  MIGRATE_FINISH_OK: 93,
  AUTH_UNAVAILABLE: 94,
  NO_SERVER: 95,
  NO_CLIENT: 96,
  AGENT_UNSYNCED: 97,
  LIBSSH: 98,
  DEVICE_MISSING: 99,
  INVALID_NWFILTER_BINDING: 100,
  NO_NWFILTER_BINDING: 101,
  INVALID_DOMAIN_CHECKPOINT: 102,
  NO_DOMAIN_CHECKPOINT: 103,
  NO_DOMAIN_BACKUP: 104,
  INVALID_NETWORK_PORT: 105,
  NETWORK_PORT_EXIST: 106,
  NO_NETWORK_PORT: 107,
  NO_HOSTNAME: 108,
  CHECKPOINT_INCONSISTENT: 109,
  MULTIPLE_DOMAINS: 110,
} as const;

/** The C name of an error code, e.g. 42 -> 'VIR_ERR_NO_DOMAIN'. */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) {
    if (value === code) {
      // The warnings are VIR_WAR_* in C; the table spells them *_WARNING to keep names unique.
      return name.endsWith('_WARNING')
        ? `VIR_WAR_${name.slice(0, -'_WARNING'.length)}`
        : `VIR_ERR_${name}`;
    }
  }
  return `VIR_ERR_UNKNOWN_${code}`;
}

/** An error reply from the daemon, with libvirt's own code, domain (subsystem) and message. */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  /** virErrorNumber, e.g. 42 (ErrorCode.NO_DOMAIN). */
  readonly code: number;
  /** virErrorDomain: which part of libvirt raised it, e.g. 10 (qemu), 20 (domain config). */
  readonly domain: number;
  /** virErrorLevel: 1 warning, 2 error. */
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
