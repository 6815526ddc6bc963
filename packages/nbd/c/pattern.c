/*
 * The pattern plugin's fill (src/plugins/pattern.ts), compiled to WebAssembly with SIMD:
 * each 8-byte word of the disk holds its own offset, big-endian. JavaScript stores these at
 * about 2 ns a word on the machines measured; two words per vector instruction here, and
 * the copy out of WebAssembly memory, take about 0.4 ns (see the package README).
 *
 * The fill goes into a scratch buffer of this module's memory, 64 KiB at a time, which
 * TypeScript copies into the reply: small enough to stay in the CPU's cache between the
 * two.
 */
#include <stdint.h>
#include <wasm_simd128.h>

/* 64 KiB of output, one more word for a start inside a word, rounded up to whole vectors. */
#define SCRATCH_WORDS (8192 + 2)

static v128_t scratch[SCRATCH_WORDS / 2];

/* Where fill() writes: the first of SCRATCH_WORDS words. */
uint64_t *pattern_scratch(void) { return (uint64_t *)scratch; }

/*
 * Fills the first `words` words of the scratch buffer (rounded up to an even count, at most
 * SCRATCH_WORDS) with the big-endian values first, first + 8, first + 16 ...
 */
void pattern_fill(uint32_t words, uint64_t first) {
  const v128_t step = wasm_i64x2_splat(16);
  /* Reverses the bytes of each 64-bit lane: little-endian arithmetic, big-endian words. */
  const v128_t big_endian = wasm_i8x16_const(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
  v128_t value = wasm_i64x2_make((int64_t)first, (int64_t)(first + 8));
  if (words > SCRATCH_WORDS) words = SCRATCH_WORDS;
  for (uint32_t i = 0; i < (words + 1) / 2; i++) {
    scratch[i] = wasm_i8x16_swizzle(value, big_endian);
    value = wasm_i64x2_add(value, step);
  }
}
