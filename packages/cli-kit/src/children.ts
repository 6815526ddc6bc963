// Child processes that must not outlive the command (qemu, NBD servers): killed when the
// process exits, whatever the way out (an error, process.exit, a signal handled as exit).
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` with SIGKILL if it is still running when this process exits. */
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}
