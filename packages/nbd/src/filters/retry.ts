// retry: repeats a failed request after a delay (nbdkit-retry-filter's idea). Unlike
// nbdkit's, it retries the call on the same plugin connection; it does not reopen it.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineFilter } from '../api.js';
import { parseBool, parseInteger } from '../size.js';
import { ownKeys, parseDelay } from './common.js';

export function createRetryFilter() {
  let retries = 5;
  let delayMs = 2000;
  let exponential = true;
  async function retrying<T>(work: () => Promise<T>): Promise<T> {
    let wait = delayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (attempt >= retries) throw err;
        await sleep(wait);
        if (exponential) wait *= 2;
      }
    }
  }
  return defineFilter<null>({
    name: 'retry',
    threadModel: 'multiProcess',
    description: 'Retry failed requests.',
    keys: [
      { key: 'retries=N', help: 'How many times (default 5).' },
      { key: 'retry-delay=T', help: 'First delay, seconds or NNms (default 2).' },
      { key: 'retry-exponential=BOOL', help: 'Double the delay each time (default yes).' },
    ],
    config: ownKeys({
      retries: (v) => (retries = parseInteger(v, 'retries')),
      'retry-delay': (v) => (delayMs = parseDelay(v, 'retry-delay')),
      'retry-exponential': (v) => (exponential = parseBool(v, 'retry-exponential')),
    }),
    pread: (next, _h, buf, offset) => retrying(() => next.pread(buf, offset)),
    pwrite: (next, _h, buf, offset, flags) => retrying(() => next.pwrite(buf, offset, flags)),
    trim: (next, _h, n, offset, flags) => retrying(() => next.trim(n, offset, flags)),
    zero: (next, _h, n, offset, flags) => retrying(() => next.zero(n, offset, flags)),
    extents: (next, _h, n, offset, flags) => retrying(() => next.extents(n, offset, flags)),
    cache: (next, _h, n, offset) => retrying(() => next.cache(n, offset)),
    flush: (next) => retrying(() => next.flush()),
  });
}
