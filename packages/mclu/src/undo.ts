// The undo stack of a multi-step operation (boot, migrate). Each thing the operation makes
// on a node is recorded *before* the call that makes it, with how to remove it and the one
// command a user can run to remove it by hand. On failure or interruption the stack is
// unwound in reverse; what cannot be removed (the node died, the user stopped the undo) is
// reported exactly: what, where, whether it surely exists, and the command.
import { LibvirtError, LibvirtTransportError } from '@tsvirt/libvirt';
import type { Cluster } from './cluster.js';
import { messageOf } from './errors.js';
import type { NodeApi } from './node-api.js';

export interface UndoEntry {
  /** The node that holds it. */
  node: string;
  /** What it is, for a person: "the definition of g1", "the disk volume /p/g1.qcow2". */
  what: string;
  /** Removes it; must be harmless when it is already gone (or was never made). */
  undo: (api: NodeApi) => Promise<void>;
  /** The command a user runs to remove it by hand. */
  removeWith: string;
}

/** Something left on a node. `certain`: it surely exists (else: if the call that made it
 *  went through before the node stopped answering). */
export interface Leftover {
  node: string;
  what: string;
  certain: boolean;
  removeWith: string;
  /** Why it was not removed. */
  reason: string;
}

export interface UndoReport {
  undone: string[];
  left: Leftover[];
}

interface Tracked extends UndoEntry {
  certain: boolean;
}

/** True when an error says nothing was made: the daemon answered the call with an error.
 *  Anything else (a lost connection) leaves it open whether the call went through. */
function daemonRefused(error: unknown): boolean {
  return error instanceof LibvirtError || (error instanceof Error && 'codeName' in error);
}

export class UndoStack {
  #entries: Tracked[] = [];
  #stopped = false;
  #running: Tracked | null = null;

  /** Runs `make`, which creates what `entry` describes, recording it first. */
  async track<T>(entry: UndoEntry, make: () => Promise<T>): Promise<T> {
    const tracked: Tracked = { ...entry, certain: false };
    this.#entries.push(tracked);
    try {
      const result = await make();
      tracked.certain = true;
      return result;
    } catch (error) {
      if (daemonRefused(error)) this.#entries = this.#entries.filter((e) => e !== tracked);
      throw error;
    }
  }

  /** Records something that may be made by a call whose failure says nothing about it (a
   *  migration creates the target's disks itself). */
  add(entry: UndoEntry): void {
    this.#entries.push({ ...entry, certain: false });
  }

  /** The operation succeeded: what it made is kept, nothing is left to undo. */
  commit(): void {
    this.#entries = [];
  }

  get isEmpty(): boolean {
    return this.#entries.length === 0;
  }

  /** What is still recorded (not undone yet), newest first. */
  remaining(reason: string): Leftover[] {
    return [...this.#entries].reverse().map((e) => leftover(e, reason));
  }

  /** Stops an unwind in progress after its current step (a second Ctrl-C). */
  stop(): void {
    this.#stopped = true;
  }

  /** Undoes everything, newest first. A node whose connection was lost is reconnected to
   *  once; what still cannot be removed is reported, never thrown. */
  async unwind(cluster: Cluster): Promise<UndoReport> {
    const report: UndoReport = { undone: [], left: [] };
    const unreachable = new Map<string, string>();
    while (this.#entries.length > 0) {
      const entry = this.#entries.pop() as Tracked;
      if (this.#stopped) {
        report.left.push(leftover(entry, 'the undo was interrupted'));
        continue;
      }
      const down = unreachable.get(entry.node);
      if (down !== undefined) {
        report.left.push(leftover(entry, down));
        continue;
      }
      this.#running = entry;
      try {
        await this.#undoOne(cluster, entry);
        report.undone.push(`removed ${entry.what} on ${entry.node}`);
      } catch (error) {
        const reason = `${entry.node} does not answer (${messageOf(error)})`;
        if (error instanceof LibvirtTransportError || !(error instanceof Error))
          unreachable.set(entry.node, reason);
        report.left.push(leftover(entry, daemonRefused(error) ? messageOf(error) : reason));
      } finally {
        this.#running = null;
      }
    }
    return report;
  }

  /** What an interrupted unwind leaves: the rest, and the step in progress. */
  leftAfterStop(): Leftover[] {
    const inProgress =
      this.#running === null
        ? []
        : [leftover(this.#running, 'its removal was under way when the undo was stopped')];
    return [...inProgress, ...this.remaining('the undo was stopped')];
  }

  async #undoOne(cluster: Cluster, entry: Tracked): Promise<void> {
    const session = cluster.sessions.find((s) => s.node.name === entry.node);
    try {
      if (session?.state !== 'on')
        throw new LibvirtTransportError('CLOSED', `${entry.node} is not connected`);
      await entry.undo(session.api);
    } catch (error) {
      if (!(error instanceof LibvirtTransportError)) throw error;
      // The connection was lost (a dropped ssh, a restarted daemon): one new one.
      const fresh = await cluster.reconnect(entry.node);
      if (fresh === null) throw error;
      await entry.undo(fresh.api);
    }
  }
}

function leftover(entry: Tracked, reason: string): Leftover {
  return {
    node: entry.node,
    what: entry.what,
    certain: entry.certain,
    removeWith: entry.removeWith,
    reason,
  };
}

/** The lines that tell a user what was undone and what is left, grouped by node, each group
 *  with the command(s) that remove what is left. */
export function describeUndo(report: UndoReport): string {
  const lines: string[] = [];
  if (report.undone.length > 0) lines.push(`undone: ${report.undone.join('; ')}`);
  lines.push(...describeLeftovers(report.left));
  return lines.join('\n');
}

export function describeLeftovers(left: readonly Leftover[]): string[] {
  const lines: string[] = [];
  for (const node of [...new Set(left.map((l) => l.node))]) {
    const here = left.filter((l) => l.node === node);
    const what = here
      .map((l) => `${l.what}${l.certain ? '' : ' (if its creation went through)'}`)
      .join('; ');
    lines.push(`left on ${node} (${here[0]?.reason ?? ''}): ${what}`);
    for (const command of [...new Set(here.map((l) => l.removeWith))])
      lines.push(`  remove with: ${command}`);
  }
  return lines;
}
