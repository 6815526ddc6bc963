// The exit statuses of every tsvirt command (ARCHITECTURE.md, "Conventions").
import { constants } from 'node:os';

export const ExitStatus = {
  /** Done, including --help and --version. */
  success: 0,
  /** The command ran and failed; the message says why. */
  failure: 1,
  /** The command line was wrong; nothing was done. */
  usage: 2,
} as const;

/** The status of a command ended by `signal`, as a shell reports it: 128 + its number. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
