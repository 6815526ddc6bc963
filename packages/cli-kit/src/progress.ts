// One progress bar for every command that moves data (uploads, migrations, copies):
// on stderr, in MiB, shown only where someone watches (stderr is a terminal) unless asked.
import type * as CliProgress from 'cli-progress';
import { createRequire } from 'node:module';

// Loaded only when a bar is shown: commands in a pipe or a script do not pay for it.
const require = createRequire(import.meta.url);

export interface ProgressBar {
  /** `done` of `total` bytes. The bar appears at the first call and goes when done
   *  reaches total, so that the next message starts on a clean line. */
  readonly update: (done: number | bigint, total: number | bigint) => void;
  /** Removes the bar if it is shown (call it on every way out). */
  readonly stop: () => void;
}

export interface ProgressBarOptions {
  /** Show it: the default is whether stderr is a terminal. When it is not, the bar is
   *  printed as a line every two seconds. */
  show?: boolean;
  /** Where it goes (stderr). */
  stream?: NodeJS.WritableStream;
}

const mib = (n: number | bigint): string => (Number(n) / 2 ** 20).toFixed(0);

export function progressBar(label: string, options: ProgressBarOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (!(options.show ?? process.stderr.isTTY)) {
    return { update: () => undefined, stop: () => undefined };
  }
  const cliProgress = require('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% {done}/{all} MiB`,
      hideCursor: true,
      clearOnComplete: true,
      noTTYOutput: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const stop = (): void => {
    if (started) bar.stop();
    started = false;
  };
  return {
    update(done, total) {
      const payload = { done: mib(done), all: mib(total) };
      if (!started) {
        bar.start(Number(total), Number(done), payload);
        started = true;
      } else {
        bar.setTotal(Number(total));
        bar.update(Number(done), payload);
      }
      if (done >= total) stop();
    },
    stop,
  };
}
