// Ctrl-C and SIGTERM during an operation that makes things on nodes (boot, build,
// migrate): the first signal aborts the operation, which undoes what it made and reports;
// a second one stops the undo and lists exactly what is left and how to remove it.
import { signalStatus } from '@tsvirt/cli-kit';
import { isAbort, OperationError } from '../errors.js';
import { UndoStack, describeLeftovers } from '../undo.js';
import type { OperationControl } from '../boot.js';

let received: NodeJS.Signals | null = null;

/** The exit status for an operation ended by a signal: 128 + its number. */
export function interruptedStatus(): number {
  return signalStatus(received ?? 'SIGINT');
}

export async function withInterrupts<T>(
  work: (control: Required<OperationControl>) => Promise<T>,
  note: (text: string) => void,
): Promise<T> {
  const controller = new AbortController();
  const undo = new UndoStack();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received === null) {
      received = signal;
      note(
        `${signal === 'SIGINT' ? 'interrupted' : `got ${signal}`}: stopping, then undoing what was done (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again stops the undo)`,
      );
      controller.abort();
      return;
    }
    undo.stop();
    const left = undo.leftAfterStop();
    note(left.length === 0 ? 'undo stopped; nothing was left' : 'undo stopped; what is left:');
    for (const line of describeLeftovers(left)) process.stderr.write(`  ${line}\n`);
    process.exit(interruptedStatus());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work({ signal: controller.signal, undo });
  } catch (error) {
    // Interrupted before the operation had made anything (asking the template, connecting).
    if (isAbort(error))
      throw new OperationError(
        'INTERRUPTED',
        'interrupted before anything was made; nothing was left',
      );
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
