// A progress bar on stderr for long transfers, only when stderr is a terminal.
import cliProgress from 'cli-progress';
import type { Progress } from '../rpc/session.js';

export interface ProgressBar {
  readonly update: (progress: Progress) => void;
  stop(): void;
}

export function progressBar(label: string): ProgressBar {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
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
  const mib = (n: bigint): string => (Number(n) / 2 ** 20).toFixed(0);
  return {
    update({ position, total }) {
      const payload = { done: mib(position), all: mib(total) };
      if (!started) bar.start(Number(total), Number(position), payload);
      else bar.update(Number(position), payload);
      started = true;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
