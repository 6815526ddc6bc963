// Sizes as people write them in mclu.conf and on the command line: 256M, 2G, 20G, 1T,
// 512K or a plain number of bytes. Powers of 1024, as virt-builder and qemu-img use.

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses a size; returns null when the text is not one (the caller says where it was). */
export function parseSize(text: string): bigint | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!match) return null;
  const [, number = '', unit = ''] = match;
  const multiplier = UNITS[unit.toUpperCase()];
  if (multiplier === undefined) return null;
  const bytes = Math.round(Number(number) * multiplier);
  return bytes > 0 ? BigInt(bytes) : null;
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
