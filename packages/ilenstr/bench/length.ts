// The length of a string three ways, side by side in one run: the ilenstr O(1) length (the C
// ilenstr_len, called raw and through Ilenstr#length), libc's strlen on the same bytes in the
// same WebAssembly module, and JavaScript's own string length.
// Run by hand after `npm run build`: node packages/ilenstr/dist/bench/length.js
import { Heap, Ilenstr } from '../src/index.js';

// The machine is shared and noisy: variants run interleaved in rounds, each reported by its
// median round.
const ROUNDS = 9;
const ROUND_NS = 20e6; // each variant runs about 20 ms per round
const SIZES = [16, 1024, 1 << 20];

/**
 * n lengths, summed and divided by n (one length, to check). Each variant is its own loop,
 * written out: a shared loop would give V8 one call site for all, and measure that.
 */
type Variant = [label: string, lengths: (n: number) => number];

/** Median ns per call of each variant, the variants interleaved round by round. */
function measure(variants: Variant[], expected: number): number[] {
  const calls = variants.map(([label, lengths]) => {
    const one = lengths(1);
    if (one !== expected) throw new Error(`${label} gives ${one}, not ${expected}`);
    let n = 1;
    for (let spent = 0; spent < ROUND_NS / 10; n *= 2) spent = timed(lengths, n); // warms up too
    return Math.max(1, Math.round((n * ROUND_NS) / (timed(lengths, n) + 1)));
  });
  const samples: number[][] = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    variants.forEach(([, lengths], k) => {
      const n = calls[k] ?? 1;
      samples[k]?.push(timed(lengths, n) / n);
    });
  }
  return samples.map((s) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)] ?? NaN);
}

let sink = 0; // what the loops compute, so that none is optimised away
function timed(lengths: (n: number) => number, n: number): number {
  const start = process.hrtime.bigint();
  sink += lengths(n);
  return Number(process.hrtime.bigint() - start);
}

const heap = new Heap();
console.log(`${ROUNDS} rounds, median ns per length (ratio: time / ilenstr_len's time)`);
for (const size of SIZES) {
  const s = Ilenstr.from(new Uint8Array(size).fill(0x61), heap);
  const address = s.address;
  const js = ['a'.repeat(size), 'b'.repeat(size)]; // two, so that the length is not hoisted
  const { ilenstr_len, strlen } = heap.c;
  const variants: Variant[] = [
    [
      'ilenstr_len (C, O(1))',
      (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += ilenstr_len(address);
        return sum / n;
      },
    ],
    [
      'Ilenstr#length (TypeScript API)',
      (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += s.length;
        return sum / n;
      },
    ],
    [
      'strlen (C, same module)',
      (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += strlen(address);
        return sum / n;
      },
    ],
    [
      'JavaScript string .length',
      (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += (js[i & 1] ?? '').length;
        return sum / n;
      },
    ],
  ];
  const times = measure(variants, size);
  const base = times[0] ?? NaN;
  console.log(`\n${size} bytes`);
  variants.forEach(([label], k) => {
    const ns = times[k] ?? NaN;
    const shown = ns < 100 ? ns.toFixed(1) : ns.toFixed(0);
    console.log(`  ${label.padEnd(34)} ${shown.padStart(10)} ns   ${(ns / base).toFixed(2)}x`);
  });
  s.free();
}
if (sink === 0) console.log('(nothing measured)');
