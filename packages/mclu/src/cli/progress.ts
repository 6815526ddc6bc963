// Progress bars on stderr, only when stderr is a terminal (never in logs or pipes).
import type * as CliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import type { ProgressCallback } from '../storage.js';

// Loaded only when a bar is shown: commands in a pipe or a script do not pay for it.
const require = createRequire(import.meta.url);

export interface Progress {
  update: ProgressCallback;
  stop(): void;
}

export function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const cliProgress = require('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% {done}/{all} MiB`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      const mib = (n: bigint): string => (Number(n) / 2 ** 20).toFixed(0);
      const payload = { done: mib(done), all: mib(total) };
      if (!started) {
        bar.start(Number(total), Number(done), payload);
        started = true;
      } else {
        bar.setTotal(Number(total));
        bar.update(Number(done), payload);
      }
      // Done: clear the bar now, so that the next message starts on a clean line.
      if (done >= total) {
        bar.stop();
        started = false;
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
