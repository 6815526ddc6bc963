/**
 * Errors of a conversion, by what went wrong, each with a stable `code` and a message a user
 * can act on (what was found, where, how to fix it). Refusals found by the checks come before
 * anything is copied or written, so a refused conversion leaves nothing behind.
 */
export type V2vErrorCode =
  | 'USAGE' // a bad option or argument
  | 'INPUT' // the source cannot be read: missing file, bad OVF, unknown guest...
  | 'NO_OS' // inspection found no operating system
  | 'MULTIPLE_ROOTS' // several operating systems and no --root to choose
  | 'NOT_INSTALLED' // an installer or live image, not an installed guest
  | 'UNSUPPORTED_GUEST' // an operating system this tool cannot convert
  | 'FS_CORRUPT' // a filesystem check found errors
  | 'NO_SPACE' // too little free space or inodes in the guest for the conversion
  | 'CONVERSION' // a step of the conversion failed in the guest
  | 'OUTPUT' // the target cannot be written: existing name, missing pool, full disk...
  | 'COPY' // the copy failed
  | 'TOOL_MISSING' // a host program is missing (qemu-nbd, qemu-img...)
  | 'INTERRUPTED'; // Ctrl-C or SIGTERM

export class V2vError extends Error {
  override readonly name = 'V2vError';
  constructor(
    readonly code: V2vErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export { messageOf } from '@tsvirt/cli-kit';
