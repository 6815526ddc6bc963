#!/usr/bin/env node
// tsnbd-copy SRC DST: the same as `tsnbd copy SRC DST`.
import { messageOf } from '../errors.js';
import { copyMain } from './copy.js';

copyMain(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`tsnbd-copy: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
