// Sizes as documented for mclu.conf and the command line: a whole number, optionally
// followed by K, M, G or T (powers of 1024, as virt-builder and qemu-img use; lower case
// too). A bare number is bytes. Nothing else: no fractions, no hex, no other units.

const UNITS: Record<string, bigint> = {
  '': 1n,
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
};

/** What a size looks like, for error messages. */
export const SIZE_RULE =
  'a whole number followed by K, M, G or T (powers of 1024), e.g. "256M", "2G" or "20G"';

/** Parses a size; returns null when the text is not one (the caller says where it was). */
export function parseSize(text: string): bigint | null {
  const match = /^([0-9]+)([KMGT]?)$/i.exec(text.trim());
  if (!match) return null;
  const [, number = '', unit = ''] = match;
  const bytes = BigInt(number) * (UNITS[unit.toUpperCase()] ?? 0n);
  return bytes > 0n ? bytes : null;
}

/** The smallest guest memory accepted: libvirt counts memory in KiB, and a guest of less
 *  than a MiB cannot run anything. */
export const MIN_MEMORY_BYTES = 1n << 20n;

/** Why a memory size is refused, or null when it is fine. */
export function memoryProblem(bytes: bigint): string | null {
  if (bytes < MIN_MEMORY_BYTES) return 'a guest needs at least 1M of memory';
  if (bytes % 1024n !== 0n) return 'memory is counted in whole KiB (use K, M or G)';
  return null;
}

/** Formats bytes the way the original's `status` does: one decimal, unit G (or M, K). */
export function formatSize(bytes: bigint | number): string {
  const value = Number(bytes);
  for (const [unit, multiplier] of [
    ['T', 2 ** 40],
    ['G', 2 ** 30],
    ['M', 2 ** 20],
    ['K', 2 ** 10],
  ] as const) {
    if (value >= multiplier) return `${(value / multiplier).toFixed(1)}${unit}`;
  }
  return `${value}`;
}
