/**
 * Errors, by who is at fault, so callers can tell them apart:
 * - GuestfsError: the daemon ran the call and it failed (no such file, not mounted...). The
 *   handle is still usable.
 * - GuestfsCancelledError: a file transfer was cancelled (by the caller or the daemon); the
 *   handle is still usable.
 * - GuestfsConnectionError: the daemon cannot be reached or the conversation with it broke
 *   (closed, timed out, garbage on the wire). The handle is closed.
 * - GuestfsLaunchError: the appliance could not be started; carries the console's last lines.
 */

/** An error reply from the daemon: errno name (`ENOENT`, or '' when it sent none) and message. */
export class GuestfsError extends Error {
  override readonly name = 'GuestfsError';
  /** e.g. 'ENOENT', 'EINVAL'; '' when the daemon did not name an errno. */
  readonly errno: string;
  /** The libguestfs name of the procedure that failed, e.g. 'is_file'. */
  readonly procedure: string;

  constructor(procedure: string, errno: string, message: string) {
    super(`${procedure}: ${message}`);
    this.errno = errno;
    this.procedure = procedure;
  }
}

/** A FileIn/FileOut transfer stopped before its end. */
export class GuestfsCancelledError extends Error {
  override readonly name = 'GuestfsCancelledError';
  constructor(
    readonly procedure: string,
    /** Who stopped it: this side (AbortSignal, a local read/write error) or the daemon. */
    readonly by: 'library' | 'daemon',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${procedure}: ${message}`, options);
  }
}

export type ConnectionErrorCode =
  | 'CLOSED' // the handle was closed, or the daemon/appliance went away
  | 'PROTOCOL' // the daemon sent something that is not the guestfs protocol
  | 'TIMEOUT' // a call did not finish within its timeout
  | 'ABORTED'; // a call that cannot be cancelled was aborted: the handle had to be closed

export class GuestfsConnectionError extends Error {
  override readonly name = 'GuestfsConnectionError';
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type LaunchErrorCode =
  | 'NO_APPLIANCE' // no appliance found or built (supermin missing, bad directory)
  | 'DRIVE' // a drive cannot be used (missing file, bad format or URI)
  | 'QEMU' // qemu could not be started or exited early
  | 'TIMEOUT'; // the daemon did not say it was up in time

export class GuestfsLaunchError extends Error {
  override readonly name = 'GuestfsLaunchError';
  constructor(
    readonly code: LaunchErrorCode,
    message: string,
    /** The last lines of the appliance's serial console, when it got that far. */
    readonly consoleTail: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      consoleTail.length > 0
        ? `${message}\nlast lines of the appliance console:\n  ${consoleTail.join('\n  ')}`
        : message,
      options,
    );
  }
}
