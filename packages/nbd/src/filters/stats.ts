// stats: counts requests, bytes and time per operation and writes a summary when the
// server exits (nbdkit-stats-filter).
import { appendFileSync, writeFileSync } from 'node:fs';
import { defineFilter } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseBool } from '../size.js';
import { ownKeys } from './common.js';

interface Counter {
  ops: number;
  bytes: number;
  ns: bigint;
}

export function createStatsFilter() {
  let file: string | undefined;
  let append = false;
  const started = process.hrtime.bigint();
  const counters = new Map<string, Counter>();
  async function count<T>(op: string, bytes: number, work: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await work();
    } finally {
      const c = counters.get(op) ?? { ops: 0, bytes: 0, ns: 0n };
      c.ops++;
      c.bytes += bytes;
      c.ns += process.hrtime.bigint() - start;
      counters.set(op, c);
    }
  }
  const summary = (): string => {
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const lines = [`elapsed time: ${elapsed.toFixed(3)} s`];
    for (const [op, c] of counters) {
      const mib = c.bytes / 2 ** 20;
      lines.push(
        `${op}: ${c.ops} ops, ${c.bytes} bytes (${mib.toFixed(2)} MiB), ` +
          `${(Number(c.ns) / 1e9).toFixed(6)} s in plugin, ${(mib / elapsed).toFixed(2)} MiB/s`,
      );
    }
    return lines.join('\n') + '\n';
  };
  return defineFilter<null>({
    name: 'stats',
    // The counts are kept here and written at exit.
    threadModel: 'parallel',
    description: 'Write request statistics to a file at exit.',
    keys: [
      { key: 'statsfile=FILE', help: 'Where to write the summary (required).' },
      { key: 'statsappend=BOOL', help: 'Append rather than overwrite.' },
    ],
    config: ownKeys({
      statsfile: (v) => (file = v),
      statsappend: (v) => (append = parseBool(v, 'statsappend')),
    }),
    configComplete() {
      if (!file) throw new ConfigError('stats: statsfile= is required');
    },
    cleanup() {
      if (append) appendFileSync(file!, summary());
      else writeFileSync(file!, summary());
    },
    pread: (next, _h, buf, offset) => count('read', buf.length, () => next.pread(buf, offset)),
    pwrite: (next, _h, buf, offset, flags) =>
      count('write', buf.length, () => next.pwrite(buf, offset, flags)),
    trim: (next, _h, n, offset, flags) => count('trim', n, () => next.trim(n, offset, flags)),
    zero: (next, _h, n, offset, flags) => count('zero', n, () => next.zero(n, offset, flags)),
    extents: (next, _h, n, offset, flags) =>
      count('extents', n, () => next.extents(n, offset, flags)),
    cache: (next, _h, n, offset) => count('cache', n, () => next.cache(n, offset)),
    flush: (next) => count('flush', 0, () => next.flush()),
  });
}
