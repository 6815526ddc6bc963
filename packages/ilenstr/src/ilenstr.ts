// A string on a C heap, in the ilenstr layout (../c/ilenstr.h). Every operation is the C
// function's; this class adds what C cannot: a freed string refuses to be used again.
import { IlenstrError } from './errors.js';
import { type Heap, defaultHeap } from './heap.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
/** size_t is 32 bits in wasm32, and ilenstr_alloc needs len + 1 to fit. */
const MAX_LENGTH = 0xffff_fffe;

let adopt: (heap: Heap, address: number) => Ilenstr;

/** An ilenstr of `heap` that C code made (legacy strcpy), now owned by the caller. */
export function adoptAddress(heap: Heap, address: number): Ilenstr {
  return adopt(heap, address);
}

export class Ilenstr {
  static {
    adopt = (heap, address) => new Ilenstr(heap, address);
  }

  readonly heap: Heap;
  #address: number; // 0 once freed

  private constructor(heap: Heap, address: number) {
    this.heap = heap;
    this.#address = address;
  }

  /**
   * A new string on `heap` (by default the shared one) holding `value`'s bytes: a string is
   * encoded as UTF-8. Inner `\0` bytes are kept. Free it with `free()`: the C heap is not
   * garbage collected.
   */
  static from(value: string | Uint8Array, heap: Heap = defaultHeap()): Ilenstr {
    const bytes = typeof value === 'string' ? utf8.encode(value) : value;
    if (bytes.length > MAX_LENGTH) {
      throw new IlenstrError(
        'ILENSTR_OUT_OF_MEMORY',
        `a string of ${bytes.length} bytes does not fit in wasm32's 4 GiB address space`,
      );
    }
    const address = heap.allocated(
      heap.c.ilenstr_alloc(bytes.length),
      `allocating a string of ${bytes.length} bytes`,
    );
    heap.bytes().set(bytes, address);
    return new Ilenstr(heap, address);
  }

  /** Where the string is in the heap's memory: the `char *` that C code sees. */
  get address(): number {
    if (this.#address === 0) {
      throw new IlenstrError(
        'ILENSTR_FREED',
        'this ilenstr was freed: using it again would read or corrupt memory that malloc may ' +
          'have handed to someone else (keep a dup() if the contents are needed after free())',
      );
    }
    return this.#address;
  }

  get freed(): boolean {
    return this.#address === 0;
  }

  /** The length in bytes, in O(1): the C ilenstr_len (malloc_usable_size and the last byte). */
  get length(): number {
    return this.heap.c.ilenstr_len(this.address);
  }

  /** How many bytes the allocation has after the terminating `\0`. */
  get spareBytes(): number {
    return this.heap.c.ilenstr_spare(this.address);
  }

  /** A copy of the contents, inner `\0` bytes included, without the terminating `\0`. */
  bytes(): Uint8Array {
    const start = this.address;
    return this.heap.bytes().slice(start, start + this.length);
  }

  /** The contents decoded as UTF-8 (invalid sequences become U+FFFD). */
  toString(): string {
    const start = this.address;
    return fromUtf8.decode(this.heap.bytes().subarray(start, start + this.length));
  }

  /** A new string: this one followed by `others`. This one is unchanged. */
  concat(...others: Ilenstr[]): Ilenstr {
    const result = this.dup();
    try {
      for (const other of others) result.append(other);
    } catch (e) {
      result.free();
      throw e;
    }
    return result;
  }

  /**
   * Appends in place with the C ilenstr_append: into the spare bytes when they suffice,
   * otherwise realloc (which may move the string; `address` follows it). On failure the
   * string is unchanged. A JavaScript string or bytes are copied once, straight into place.
   */
  append(tail: Ilenstr | string | Uint8Array): this {
    if (tail instanceof Ilenstr) {
      this.#sameHeap(tail, 'append');
      this.#grow(tail.length, tail.address);
    } else {
      const bytes = typeof tail === 'string' ? utf8.encode(tail) : tail;
      const oldLength = this.#grow(bytes.length, 0); // NULL: C makes room, we copy them in
      this.heap.bytes().set(bytes, this.#address + oldLength);
    }
    return this;
  }

  /** ilenstr_append of `length` bytes at address `from`; returns the length before. */
  #grow(length: number, from: number): number {
    const oldLength = this.length;
    if (length > MAX_LENGTH - oldLength) {
      throw new IlenstrError(
        'ILENSTR_OUT_OF_MEMORY',
        `appending ${length} bytes to ${oldLength} exceeds wasm32's 4 GiB address space`,
      );
    }
    this.#address = this.heap.allocated(
      this.heap.c.ilenstr_append(this.address, from, length),
      `appending ${length} bytes to a string of ${oldLength}`,
    );
    return oldLength;
  }

  /** Byte-wise order (memcmp, a proper prefix first): -1, 0 or 1. */
  compare(other: Ilenstr): -1 | 0 | 1 {
    this.#sameHeap(other, 'compare');
    return Math.sign(this.heap.c.ilenstr_cmp(this.address, other.address)) as -1 | 0 | 1;
  }

  /** Same bytes, inner `\0` bytes and all. */
  equals(other: Ilenstr): boolean {
    this.#sameHeap(other, 'compare');
    return this.length === other.length && this.compare(other) === 0;
  }

  /** A copy with no spare bytes beyond what malloc rounds up to. */
  dup(): Ilenstr {
    return new Ilenstr(
      this.heap,
      this.heap.allocated(this.heap.c.ilenstr_dup(this.address), `copying ${this.length} bytes`),
    );
  }

  /** Gives the memory back to malloc. Any later use, a second free included, is refused. */
  free(): void {
    this.heap.c.ilenstr_free(this.address);
    this.#address = 0;
  }

  #sameHeap(other: Ilenstr, operation: string): void {
    if (other.heap !== this.heap) {
      throw new IlenstrError(
        'ILENSTR_OTHER_HEAP',
        `cannot ${operation} strings of two different C heaps (each Heap is its own ` +
          'WebAssembly memory): copy one over with Ilenstr.from(other.bytes(), heap)',
      );
    }
  }
}
