// One C heap: an instance of dist/ilenstr.wasm (the C sources in ../c, compiled by
// scripts/build-wasm) with its own linear memory and its own WASI stdout.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { IlenstrError } from './errors.js';
import { WebAssembly, type WasmMemory, type WasmModule } from './webassembly.js';

const WASM_PATH = new URL('../ilenstr.wasm', import.meta.url);
const PAGE_BYTES = 65536;
/** What the module asks for (--initial-memory in scripts/build-wasm): data and stack. */
const INITIAL_PAGES = 2;
/** wasm32 addresses 4 GiB at most. */
const MAX_PAGES = 65536;

/** The C functions, as the module exports them. Pointers and size_t are i32 in wasm32. */
interface RawExports {
  _initialize: () => void;
  ilenstr_alloc: (len: number) => number;
  ilenstr_len: (s: number) => number;
  ilenstr_spare: (s: number) => number;
  ilenstr_append: (s: number, bytes: number, len: number) => number;
  ilenstr_cmp: (a: number, b: number) => number;
  ilenstr_dup: (s: number) => number;
  ilenstr_free: (s: number) => void;
  heap_live_blocks: () => number;
  heap_live_bytes: () => number;
  malloc_usable_size: (p: number) => number;
  strlen: (s: number) => number;
  strcmp: (a: number, b: number) => number;
  strcpy: (dst: number, src: number) => number;
  legacy_printf: (s: number) => number;
}

/**
 * The C functions with addresses and sizes as unsigned numbers (WebAssembly hands i32 back
 * signed, so anything at or above 2 GiB would otherwise come back negative). Unchecked: a
 * wrong address here corrupts the heap. `Ilenstr` is the checked way in.
 */
export type CFunctions = { [F in Exclude<keyof RawExports, '_initialize'>]: RawExports[F] };

export interface HeapOptions {
  /** File descriptor that the C code's stdout (legacy `printf`) writes to. Default 1. */
  stdout?: number;
  /**
   * Most bytes the heap's memory may grow to; malloc fails beyond, and the operation throws
   * `ILENSTR_OUT_OF_MEMORY`. Default and upper bound: 4 GiB, all wasm32 can address.
   */
  maxMemoryBytes?: number;
}

export interface HeapStats {
  /** Blocks malloc'd and not yet freed, by anyone: the ilenstr functions and libc itself. */
  liveBlocks: number;
  /** Their usable bytes (malloc_usable_size), spare bytes included. */
  liveBytes: number;
  /** The linear memory's current size: it grows with the heap and never shrinks. */
  memoryBytes: number;
}

let compiled: WasmModule | undefined;

function compile(): WasmModule {
  if (compiled === undefined) {
    let code: Buffer;
    try {
      code = readFileSync(WASM_PATH);
    } catch (e) {
      throw new IlenstrError(
        'ILENSTR_NOT_BUILT',
        `cannot read ${WASM_PATH.pathname}: build it with \`npm run build\` at the repository root ` +
          '(needs clang, lld and wasi-libc: scripts/install-debian-packages)',
        { cause: e },
      );
    }
    compiled = new WebAssembly.Module(code);
  }
  return compiled;
}

const unsigned = (n: number): number => n >>> 0;

export class Heap {
  /** The raw C functions of this heap (see `CFunctions`). */
  readonly c: CFunctions;
  readonly memory: WasmMemory;
  readonly maxMemoryBytes: number;
  readonly stdout: number;

  /** A new, empty C heap: a fresh instance of the module. Synchronous (the module is small). */
  constructor(options: HeapOptions = {}) {
    this.stdout = options.stdout ?? 1;
    const maxPages = Math.floor((options.maxMemoryBytes ?? MAX_PAGES * PAGE_BYTES) / PAGE_BYTES);
    if (!(maxPages >= INITIAL_PAGES && maxPages <= MAX_PAGES)) {
      throw new RangeError(
        `maxMemoryBytes must be between ${INITIAL_PAGES * PAGE_BYTES} and ${MAX_PAGES * PAGE_BYTES}` +
          ` (the C data and stack take ${INITIAL_PAGES} pages of 64 KiB; wasm32 addresses 4 GiB)`,
      );
    }
    this.maxMemoryBytes = maxPages * PAGE_BYTES;
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maxPages });

    // version 'preview1' is required from Node 20 on (older Node accepted no version).
    const wasi = new WASI({ version: 'preview1', stdout: this.stdout, returnOnExit: true });
    const instance = new WebAssembly.Instance(compile(), {
      env: { memory: this.memory },
      wasi_snapshot_preview1: wasi.wasiImport,
    });
    const raw = instance.exports as unknown as RawExports;
    // The memory is imported, not exported, and node:wasi looks for it in exports.memory:
    // it reads only `memory` and `_initialize` from what it is given (Node 20 to 24; Node 24
    // also has finalizeBindings(instance, { memory }) for this).
    wasi.initialize({ exports: { memory: this.memory, _initialize: raw._initialize } });

    this.c = {
      ilenstr_alloc: (len) => unsigned(raw.ilenstr_alloc(len)),
      ilenstr_len: (s) => unsigned(raw.ilenstr_len(s)),
      ilenstr_spare: (s) => unsigned(raw.ilenstr_spare(s)),
      ilenstr_append: (s, bytes, len) => unsigned(raw.ilenstr_append(s, bytes, len)),
      ilenstr_cmp: (a, b) => raw.ilenstr_cmp(a, b),
      ilenstr_dup: (s) => unsigned(raw.ilenstr_dup(s)),
      ilenstr_free: (s) => raw.ilenstr_free(s),
      heap_live_blocks: () => unsigned(raw.heap_live_blocks()),
      heap_live_bytes: () => unsigned(raw.heap_live_bytes()),
      malloc_usable_size: (p) => unsigned(raw.malloc_usable_size(p)),
      strlen: (s) => unsigned(raw.strlen(s)),
      strcmp: (a, b) => raw.strcmp(a, b),
      strcpy: (dst, src) => unsigned(raw.strcpy(dst, src)),
      legacy_printf: (s) => raw.legacy_printf(s),
    };
  }

  /** The whole linear memory. A fresh view each time: growing the memory replaces its buffer. */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  stats(): HeapStats {
    return {
      liveBlocks: this.c.heap_live_blocks(),
      liveBytes: this.c.heap_live_bytes(),
      memoryBytes: this.memory.buffer.byteLength,
    };
  }

  /**
   * The address C returned, or a clear error when it returned NULL: every allocating C
   * function here returns NULL only when malloc or realloc failed.
   */
  allocated(address: number, what: string): number {
    if (address === 0) {
      throw new IlenstrError(
        'ILENSTR_OUT_OF_MEMORY',
        `out of memory ${what}: the C heap has ${this.stats().liveBytes} bytes in use and may ` +
          `grow to ${this.maxMemoryBytes} bytes (maxMemoryBytes)`,
      );
    }
    return address;
  }
}

let shared: Heap | undefined;

/** The heap `Ilenstr.from` uses when given none, created on first use (stdout: fd 1). */
export function defaultHeap(): Heap {
  shared ??= new Heap();
  return shared;
}
