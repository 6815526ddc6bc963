// Every tsvirt command line is a commander program set up the same way and run the same
// way: -V/--version, --debug, usage errors with a pointer to --help and exit status 2, other
// failures as one line `NAME: message` and exit status 1, stack traces only with --debug.
import { Command, CommanderError } from 'commander';
import { messageOf, UsageError } from './errors.js';
import { ExitStatus } from './exit-status.js';

export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** A command line with the project's common options and error handling. */
export function createProgram(name: string, description: string, version: string): Command {
  return new Command(name)
    .description(description)
    .version(version, '-V, --version')
    .option('--debug', 'show stack traces of errors')
    .showHelpAfterError(`(run \`${name} --help\` for usage)`)
    .allowExcessArguments(false)
    .exitOverride();
}

/** How a command reports what its actions throw. */
export interface FailurePolicy {
  /** Said after the command's name, before the message (mclu: "error:"). */
  label?: string;
  /** The line for an error, where its message alone is not it (default: messageOf). */
  message?: (error: unknown) => string;
  /** Errors that are part of the command's contract, whose message says it all. Others
   *  come with a hint to run again with --debug. A UsageError always is. */
  expected?: (error: unknown) => boolean;
  /** The exit status for an error, where it is not the convention's: 2 for a UsageError,
   *  else 1. Return undefined to keep the convention. */
  status?: (error: unknown) => number | undefined;
}

/**
 * Parses the command line and runs the chosen action; on failure prints the message and
 * sets process.exitCode. An action may set process.exitCode itself (a child's status).
 */
export async function runProgram(
  program: Command,
  policy: FailurePolicy = {},
  argv: readonly string[] = process.argv,
): Promise<void> {
  // `mclu list | head`: a reader that goes away is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitStatus.success);
    throw error;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportFailure(program.name(), error, policy, argv.includes('--debug'));
  }
}

/** Prints a failure the project's way and returns the exit status. */
export function reportFailure(
  name: string,
  error: unknown,
  policy: FailurePolicy = {},
  debug = false,
): number {
  // Commander has printed its message already; help and version end successfully.
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? ExitStatus.success : ExitStatus.usage;
  }
  const label = policy.label === undefined ? `${name}:` : `${name}: ${policy.label}`;
  const colour = process.stderr.isTTY && !process.env['NO_COLOR'];
  const message = policy.message?.(error) ?? messageOf(error);
  process.stderr.write(`${colour ? `\x1b[31m${label}\x1b[0m` : label} ${message}\n`);
  const expected = error instanceof UsageError || (policy.expected?.(error) ?? false);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else if (!expected) {
    process.stderr.write('(an unexpected error: run with --debug for the details)\n');
  }
  return (
    policy.status?.(error) ?? (error instanceof UsageError ? ExitStatus.usage : ExitStatus.failure)
  );
}
