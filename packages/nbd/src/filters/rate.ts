// rate: limits the bandwidth of reads and writes, for all connections together and per
// connection (nbdkit-rate-filter), with token buckets of one second's burst.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineFilter } from '../api.js';
import { ConfigError } from '../errors.js';
import { ownKeys } from './common.js';

function parseBits(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${key}=${text}: expected bits per second, e.g. 10M`);
  const scale = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]!.toUpperCase()] ?? 1;
  return Number(m[1]) * scale;
}

class Bucket {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }
  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        this.bytesPerSecond,
        this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond,
      );
      this.last = now;
      if (this.tokens >= Math.min(bytes, this.bytesPerSecond)) {
        this.tokens -= bytes;
        return;
      }
      await sleep(
        ((Math.min(bytes, this.bytesPerSecond) - this.tokens) / this.bytesPerSecond) * 1000,
      );
    }
  }
}

export function createRateFilter() {
  let global: Bucket | undefined;
  let perConnection = 0;
  return defineFilter<Bucket | undefined>({
    name: 'rate',
    // rate= is one bucket for every connection.
    threadModel: 'parallel',
    description: 'Limit bandwidth (bits per second).',
    keys: [
      { key: 'rate=BITS', help: 'Limit for all connections together, e.g. 10M.' },
      { key: 'connection-rate=BITS', help: 'Limit for each connection.' },
    ],
    config: ownKeys({
      rate: (v) => (global = new Bucket(parseBits(v, 'rate') / 8)),
      'connection-rate': (v) => (perConnection = parseBits(v, 'connection-rate') / 8),
    }),
    async open(next, readonly, exportName) {
      await next(readonly, exportName);
      return perConnection > 0 ? new Bucket(perConnection) : undefined;
    },
    async pread(next, h, buf, offset) {
      await global?.take(buf.length);
      await h?.take(buf.length);
      await next.pread(buf, offset);
    },
    async pwrite(next, h, buf, offset, flags) {
      await global?.take(buf.length);
      await h?.take(buf.length);
      await next.pwrite(buf, offset, flags);
    },
  });
}
