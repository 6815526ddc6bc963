// @tsvirt/cli-kit: what the project's commands share, so that each says only what is its own.
export { killOnExit } from './children.js';
export { messageOf, UsageError } from './errors.js';
export { ExitStatus, signalStatus } from './exit-status.js';
export { progressBar, type ProgressBar, type ProgressBarOptions } from './progress.js';
export {
  Command,
  CommanderError,
  createProgram,
  InvalidArgumentError,
  Option,
  reportFailure,
  runProgram,
  type FailurePolicy,
} from './program.js';
export { packageVersion } from './version.js';
