// The two error helpers every command and library of the project shares.

/** The message of anything thrown, for error texts that wrap another error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A mistake in the command line: the command prints its message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
