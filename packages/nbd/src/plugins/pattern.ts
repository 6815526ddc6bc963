// pattern: a read-only disk where each 8-byte word holds its own offset, big-endian
// (nbdkit-pattern-plugin), so any misplaced byte shows in a test.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { definePlugin } from '../api.js';
import { ConfigError } from '../errors.js';
import { parseSize } from '../size.js';

/** Bytes filled per call of the WebAssembly fill: its scratch buffer (c/pattern.c). */
const CHUNK = 65536;

/** What c/pattern.c exports. */
interface PatternFill {
  memory: { buffer: ArrayBuffer };
  pattern_scratch: () => number;
  pattern_fill: (words: number, first: bigint) => void;
}

/** The part of the WebAssembly API used here (@types/node 20 does not declare it). */
interface WebAssemblyApi {
  Module: new (code: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/** c/pattern.c, compiled by scripts/build-wasm: its fill and its scratch buffer. */
let compiled: { scratch: Buffer; words: PatternFill['pattern_fill'] } | undefined;

function wasmFill(): NonNullable<typeof compiled> {
  if (compiled) return compiled;
  const file = new URL('../../pattern.wasm', import.meta.url);
  if (!existsSync(file)) {
    throw new ConfigError(
      `pattern: ${fileURLToPath(file)} is missing: build the package (npm run build)`,
    );
  }
  const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi })
    .WebAssembly;
  const exports = new Instance(new Module(readFileSync(file))).exports as PatternFill;
  // The module never grows its memory, so this view stays valid.
  const scratch = Buffer.from(exports.memory.buffer, exports.pattern_scratch(), CHUNK + 16);
  compiled = { scratch, words: exports.pattern_fill };
  return compiled;
}

/** Fills `buf` with the pattern for the disk bytes starting at `offset` (any alignment). */
export function fillPattern(buf: Buffer, offset: number): void {
  const fill = wasmFill();
  for (let done = 0; done < buf.length; done += CHUNK) {
    const at = offset + done;
    const skew = at % 8;
    const length = Math.min(CHUNK, buf.length - done);
    fill.words(Math.ceil((skew + length) / 8), BigInt(at - skew));
    fill.scratch.copy(buf, done, skew, skew + length);
  }
}

export function createPatternPlugin() {
  let size: number | undefined;
  return definePlugin<null>({
    name: 'pattern',
    threadModel: 'multiProcess',
    description: 'A read-only disk whose every 8-byte word is its own offset (big-endian).',
    keys: [{ key: 'size=SIZE', help: 'Size of the disk (required).' }],
    magicConfigKey: 'size',
    config(key, value) {
      if (key !== 'size') throw new ConfigError(`pattern: unknown parameter ${key}`);
      size = parseSize(value);
    },
    configComplete() {
      if (size === undefined) throw new ConfigError('pattern: size= is required');
      wasmFill(); // a missing build is said at start, not at the first read
    },
    open: () => null,
    getSize: () => size!,
    canMultiConn: () => true,
    canCache: () => 'native',
    pread: (_h, buf, offset) => fillPattern(buf, offset),
    cache: () => undefined,
  });
}
