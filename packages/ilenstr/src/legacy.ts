// Calling code that knows only `char *` with ilenstrs: the seed's backwards compatibility.
// Such code stops at the first \0, so a string with a \0 inside means something different to
// it than to its owner ("admin\0x" is "admin" to strcmp): `legacy` refuses those strings,
// `legacyUnchecked` passes them and the callee sees the prefix.
import { IlenstrError } from './errors.js';
import type { Heap } from './heap.js';
import { type Ilenstr, adoptAddress } from './ilenstr.js';

/** The legacy functions, each given its arguments' addresses (`char *`). */
const legacyFunctions = {
  /** strlen(s): where the first \0 is. */
  strlen: (heap: Heap, s: number): number => heap.c.strlen(s),
  /** strcmp(a, b), as -1, 0 or 1. */
  strcmp: (heap: Heap, a: number, b: number): number => Math.sign(heap.c.strcmp(a, b)),
  /** strcpy into a new ilenstr of strlen(src) bytes: exactly what strcpy writes. */
  strcpy: (heap: Heap, src: number): Ilenstr => {
    const length = heap.c.strlen(src);
    const dst = heap.allocated(heap.c.ilenstr_alloc(length), `allocating ${length} bytes`);
    heap.c.strcpy(dst, src);
    return adoptAddress(heap, dst);
  },
  /** printf("%s", s) to the heap's stdout, flushed: the number of bytes written. */
  printf: (heap: Heap, s: number): number => {
    const written = heap.c.legacy_printf(s);
    if (written < 0) {
      throw new IlenstrError(
        'ILENSTR_IO',
        `legacy printf: writing to the C stdout (file descriptor ${heap.stdout}) failed`,
      );
    }
    return written;
  },
};

type LegacyFunctions = typeof legacyFunctions;
export type LegacyName = keyof LegacyFunctions;
type Addresses<F> = F extends (heap: Heap, ...addresses: infer A) => unknown ? A : never;
/** One `Ilenstr` for each `char *` the function takes. */
export type LegacyArgs<N extends LegacyName> =
  Addresses<LegacyFunctions[N]> extends infer A extends unknown[]
    ? { [K in keyof A]: Ilenstr }
    : never;
export type LegacyResult<N extends LegacyName> = ReturnType<LegacyFunctions[N]>;

/**
 * Calls legacy C function `name` with the strings as plain `char *`, after checking that
 * none has a `\0` inside (one strlen per argument, O(length)): a string that a `char *`
 * function would read only part of is refused with `ILENSTR_INNER_NUL`.
 */
export function legacy<N extends LegacyName>(name: N, ...args: LegacyArgs<N>): LegacyResult<N> {
  (args as Ilenstr[]).forEach((s, index) => {
    const seen = s.heap.c.strlen(s.address);
    if (seen !== s.length) {
      throw new IlenstrError(
        'ILENSTR_INNER_NUL',
        `legacy ${name}: argument ${index + 1} has a \\0 at byte ${seen} of ${s.length}, so ` +
          `${name} would see only its first ${seen} bytes; pass it to legacyUnchecked() if ` +
          'that prefix is what is meant',
      );
    }
  });
  return legacyUnchecked(name, ...args);
}

/**
 * Calls legacy C function `name` with the strings as plain `char *`, unchecked: for a string
 * with a `\0` inside, the function sees only the bytes before it.
 */
export function legacyUnchecked<N extends LegacyName>(
  name: N,
  ...args: LegacyArgs<N>
): LegacyResult<N> {
  if (!Object.hasOwn(legacyFunctions, name)) {
    throw new IlenstrError(
      'ILENSTR_BAD_CALL',
      `no legacy function ${String(name)}; there are ${Object.keys(legacyFunctions).join(', ')}`,
    );
  }
  // One signature per name; TypeScript cannot relate a generic N to its entry's parameters.
  const fn = legacyFunctions[name] as (heap: Heap, ...addresses: number[]) => LegacyResult<N>;
  const strings = args as Ilenstr[];
  if (strings.length !== fn.length - 1) {
    throw new IlenstrError(
      'ILENSTR_BAD_CALL',
      `legacy ${name} takes ${fn.length - 1} string(s), got ${strings.length}`,
    );
  }
  const heap = strings[0]?.heap;
  if (heap === undefined) throw new Error('unreachable: every legacy function takes a string');
  if (strings.some((s) => s.heap !== heap)) {
    throw new IlenstrError(
      'ILENSTR_OTHER_HEAP',
      `legacy ${name}: the strings belong to different C heaps`,
    );
  }
  return fn(heap, ...strings.map((s) => s.address));
}
