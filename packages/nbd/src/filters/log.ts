// log: writes one line per request and per reply to a file (nbdkit-log-filter's idea; the
// line format is close to nbdkit's but not identical).
import { appendFileSync, writeFileSync } from 'node:fs';
import { defineFilter } from '../api.js';
import { ConfigError, errnoNameOf } from '../errors.js';
import { parseBool } from '../size.js';
import { ownKeys } from './common.js';

interface LogHandle {
  connection: number;
}

export function createLogFilter() {
  let file: string | undefined;
  let append = false;
  let connections = 0;
  let ids = 0;
  const line = (text: string) => {
    if (file) appendFileSync(file, `${new Date().toISOString()} ${text}\n`);
  };
  const hex = (n: number) => `0x${n.toString(16)}`;
  async function logged<T>(h: LogHandle, what: string, args: string, work: () => Promise<T>) {
    const id = ++ids;
    const start = process.hrtime.bigint();
    line(`connection=${h.connection} ${what} id=${id} ${args} ...`);
    try {
      const result = await work();
      line(`connection=${h.connection} ...(${what}) id=${id} elapsed=${elapsed(start)} return=0`);
      return result;
    } catch (err) {
      const name = errnoNameOf(err);
      line(
        `connection=${h.connection} ...(${what}) id=${id} elapsed=${elapsed(start)} return=-1 (${name})`,
      );
      throw err;
    }
  }
  const elapsed = (start: bigint) =>
    `${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(6)}s`;

  return defineFilter<LogHandle>({
    name: 'log',
    // One log file with connection numbers counted here.
    threadModel: 'parallel',
    description: 'Log every request to a file.',
    keys: [
      { key: 'logfile=FILE', help: 'Where to log (required).' },
      { key: 'logappend=BOOL', help: 'Append rather than truncate (default false).' },
    ],
    config: ownKeys({
      logfile: (v) => (file = v),
      logappend: (v) => (append = parseBool(v, 'logappend')),
    }),
    configComplete() {
      if (!file) throw new ConfigError('log: logfile= is required');
      if (!append) writeFileSync(file, '');
    },
    async open(next, readonly, exportName) {
      const h = { connection: ++connections };
      await next(readonly, exportName);
      line(`connection=${h.connection} Connect export="${exportName}" readonly=${readonly}`);
      return h;
    },
    close(h) {
      line(`connection=${h.connection} Disconnect`);
    },
    pread: (next, h, buf, offset) =>
      logged(h, 'Read', `offset=${hex(offset)} count=${hex(buf.length)}`, () =>
        next.pread(buf, offset),
      ),
    pwrite: (next, h, buf, offset, flags) =>
      logged(
        h,
        'Write',
        `offset=${hex(offset)} count=${hex(buf.length)} fua=${flags.fua ? 1 : 0}`,
        () => next.pwrite(buf, offset, flags),
      ),
    flush: (next, h) => logged(h, 'Flush', '', () => next.flush()),
    trim: (next, h, count, offset, flags) =>
      logged(h, 'Trim', `offset=${hex(offset)} count=${hex(count)} fua=${flags.fua ? 1 : 0}`, () =>
        next.trim(count, offset, flags),
      ),
    zero: (next, h, count, offset, flags) =>
      logged(
        h,
        'Zero',
        `offset=${hex(offset)} count=${hex(count)} fua=${flags.fua ? 1 : 0} may_trim=${flags.mayTrim ? 1 : 0} fast=${flags.fastZero ? 1 : 0}`,
        () => next.zero(count, offset, flags),
      ),
    extents: (next, h, count, offset, flags) =>
      logged(
        h,
        'Extents',
        `offset=${hex(offset)} count=${hex(count)} req_one=${flags.reqOne ? 1 : 0}`,
        () => next.extents(count, offset, flags),
      ),
    cache: (next, h, count, offset) =>
      logged(h, 'Cache', `offset=${hex(offset)} count=${hex(count)}`, () =>
        next.cache(count, offset),
      ),
  });
}
