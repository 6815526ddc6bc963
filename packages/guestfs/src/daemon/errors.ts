/**
 * Error replies. A procedure fails by throwing a DaemonError: the reply carries its errno
 * name (`ENOENT`, or '' for none) and message, as guestfsd's reply_with_error and
 * reply_with_perror do. Messages are byte strings (see bytes.ts) and name guest paths, never
 * the host paths under the sysroot.
 */
import { getSystemErrorMap } from 'node:util';
import type { ByteString } from './bytes.js';

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    /** e.g. 'ENOENT'; '' when the failure has no errno (guestfsd's reply_with_error). */
    readonly errno: string,
    message: ByteString,
  ) {
    super(message);
  }
}

/** A failure without an errno (reply_with_error). */
export function failure(message: ByteString): DaemonError {
  return new DaemonError('', message);
}

/** An error with an errno code, from Node's fs or from the daemon's own path resolution. */
export interface ErrnoError {
  readonly code: string;
}

export function isErrno(e: unknown, ...codes: string[]): e is ErrnoError {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^E[A-Z0-9]+$/.test(code) &&
    (codes.length === 0 || codes.includes(code))
  );
}

/** A system call's failure, as `code` (thrown where the kernel would fail, e.g. ELOOP). */
export function sysError(code: string): ErrnoError & Error {
  return Object.assign(new Error(code), { code });
}

/**
 * reply_with_perror: "CONTEXT: strerror(errno)" with the errno's name. Anything that is not
 * a system error is a bug and is passed on.
 */
export function perror(e: unknown, context: ByteString): DaemonError {
  if (e instanceof DaemonError) return e;
  if (!isErrno(e)) throw e;
  return new DaemonError(e.code, `${context}: ${strerror(e.code)}`);
}

/** glibc's strerror text (the C daemon's messages), for the errors file operations give. */
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EPIPE: 'Broken pipe',
  ERANGE: 'Numerical result out of range',
  ENAMETOOLONG: 'File name too long',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  ENODATA: 'No data available',
  EOVERFLOW: 'Value too large for defined data type',
  EILSEQ: 'Invalid or incomplete multibyte or wide character',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  ESTALE: 'Stale file handle',
  EDQUOT: 'Disk quota exceeded',
  EUCLEAN: 'Structure needs cleaning',
};

export function strerror(code: string): string {
  const known = STRERROR[code];
  if (known !== undefined) return known;
  for (const [name, message] of getSystemErrorMap().values()) {
    if (name === code) return message.charAt(0).toUpperCase() + message.slice(1);
  }
  return code;
}
