// error: injects errors, for testing clients (nbdkit-error-filter). Each operation fails
// with its errno at its rate, and only while its trigger file exists (if one is given).
import { existsSync } from 'node:fs';
import { defineFilter } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { NbdErrno, type NbdErrnoName } from '../protocol/constants.js';

const OPS = ['pread', 'pwrite', 'trim', 'zero', 'extents', 'cache'] as const;
type Op = (typeof OPS)[number];

interface Setting {
  errno: NbdErrnoName;
  rate: number;
  file: string | undefined;
}

function parseRate(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const rate = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(rate >= 0 && rate <= 1)) throw new ConfigError(`${key}=${text}: expected 0..1 or N%`);
  return rate;
}

export function createErrorFilter() {
  const settings = Object.fromEntries(
    OPS.map((op) => [op, { errno: 'EIO', rate: 0, file: undefined }]),
  ) as Record<Op, Setting>;

  const configure = (ops: readonly Op[], what: string, value: string, key: string) => {
    for (const op of ops) {
      const s = settings[op];
      if (what === '') {
        if (!(value in NbdErrno)) throw new ConfigError(`${key}=${value}: not an NBD errno`);
        s.errno = value as NbdErrnoName;
      } else if (what === '-rate') s.rate = parseRate(value, key);
      else s.file = value;
    }
  };

  const maybeFail = (op: Op) => {
    const s = settings[op];
    if (s.rate === 0 || (s.file !== undefined && !existsSync(s.file))) return;
    if (s.rate >= 1 || Math.random() < s.rate) {
      throw new NbdError(s.errno, `error filter: injected ${s.errno} in ${op}`);
    }
  };

  return defineFilter<null>({
    name: 'error',
    threadModel: 'multiProcess',
    description: 'Inject errors at a given rate.',
    keys: [
      { key: 'error=ERRNO', help: 'EIO (default), EPERM, ENOMEM, EINVAL, ENOSPC, ESHUTDOWN.' },
      { key: 'error-rate=R', help: 'Probability 0..1 or N% (default 0).' },
      { key: 'error-file=PATH', help: 'Inject only while PATH exists.' },
      {
        key: 'error-OP[-rate|-file]=',
        help: 'Per operation: pread pwrite trim zero extents cache.',
      },
    ],
    async config(next, key, value) {
      const m = /^error(-(pread|pwrite|trim|zero|extents|cache))?(-rate|-file)?$/.exec(key);
      if (!m) return next(key, value);
      configure(m[2] ? [m[2] as Op] : OPS, m[3] ?? '', value, key);
    },
    async pread(next, _h, buf, offset) {
      maybeFail('pread');
      await next.pread(buf, offset);
    },
    async pwrite(next, _h, buf, offset, flags) {
      maybeFail('pwrite');
      await next.pwrite(buf, offset, flags);
    },
    async trim(next, _h, count, offset, flags) {
      maybeFail('trim');
      await next.trim(count, offset, flags);
    },
    async zero(next, _h, count, offset, flags) {
      maybeFail('zero');
      await next.zero(count, offset, flags);
    },
    async extents(next, _h, count, offset, flags) {
      maybeFail('extents');
      return next.extents(count, offset, flags);
    },
    async cache(next, _h, count, offset) {
      maybeFail('cache');
      await next.cache(count, offset);
    },
  });
}
