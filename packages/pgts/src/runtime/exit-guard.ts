// A query that waits for something nothing will ever do (PGlite's lock, held by a
// transaction that waits for that query) is a promise no one resolves. Node does not call
// that a hang: the event loop empties and the process exits with status 0, having skipped
// the rest of the program. pgts keeps the queries and transactions in flight, and when the
// event loop empties while some are still unsettled, says so and makes the exit status 1.

type InFlight = { kind: 'query'; sql: string } | { kind: 'transaction' };

const inFlight = new Set<InFlight>();
let listening = false;

/** Counts a call as in flight until `settled`; returns its entry. */
export function unsettled(entry: InFlight): InFlight {
  inFlight.add(entry);
  if (!listening) {
    // 'beforeExit' is emitted only when the event loop is empty, never for process.exit().
    process.on('beforeExit', reportUnsettled);
    listening = true;
  }
  return entry;
}

export function settled(entry: InFlight): void {
  inFlight.delete(entry);
}

/** Runs `work`, counted as in flight until it settles. */
export async function guarded<T>(entry: InFlight, work: () => Promise<T>): Promise<T> {
  unsettled(entry);
  try {
    return await work();
  } finally {
    settled(entry);
  }
}

function reportUnsettled(): void {
  if (inFlight.size === 0) return;
  const list = [...inFlight]
    .map((e) => (e.kind === 'query' ? `  query: ${shorten(e.sql)}` : '  a transaction'))
    .join('\n');
  process.stderr.write(
    `pgts: the event loop is empty but ${inFlight.size} pgts ${inFlight.size === 1 ? 'call has' : 'calls have'} ` +
      `not settled, and now never will:\n${list}\n` +
      `pgts: something they wait for will never happen; with PGlite this is its lock, held by ` +
      `db.transaction() while the PGlite instance is used directly: use the transaction's tx.\n`,
  );
  // Reported once; the entries stay unsettled, so a later 'beforeExit' must not repeat it.
  inFlight.clear();
  process.exitCode = 1;
}

function shorten(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}
