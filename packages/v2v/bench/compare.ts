// tsv2v against virt-v2v, side by side, on the two Debian test guests: (b) "virtio already
// present" and (a) "the initramfs needs a rebuild". Wall time, peak RSS of the whole
// process tree (converter, NBD servers, the appliance's qemu) and bytes written to the
// target (allocated). virt-v2v rebuilds the initramfs every time, a quarter of an hour under
// TCG: its runs are cached (keyed by image and version) and reused unless --fresh is given,
// and the output says which were reused. Run as root after `npm run build`:
//   node packages/v2v/dist/bench/compare.js [--fresh]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianImage } from '@tsvirt/testimages';
import { NO_VIRTIO, allocated } from '../test/integration/helpers.js';
import { measured, virtV2vReference } from '../test/integration/reference.js';

const TSV2V = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const fresh = process.argv.includes('--fresh');
const MiB = 2 ** 20;

interface Row {
  case: string;
  tool: string;
  wallS: number;
  peakRssMiB: number;
  writtenMiB: number;
  note: string;
}

const rows: Row[] = [];
const work = mkdtempSync(join(tmpdir(), 'v2v-bench-'));
try {
  for (const [label, options] of [
    ['virtio already present (b)', {}],
    ['initramfs rebuild (a)', NO_VIRTIO],
  ] as const) {
    const image = await debianImage(options);
    const out = join(work, label.replace(/\W+/g, '-'));
    mkdirSync(out);
    const ours = await measured(
      process.execPath,
      [TSV2V, '-q', '-i', 'disk', image.path, '-o', 'local', '-os', out, '-on', 'bench'],
      join(work, `${label}.log`),
    );
    if (ours.code !== 0) throw new Error(`tsv2v failed:\n${ours.output.slice(-2000)}`);
    rows.push({
      case: label,
      tool: 'tsv2v',
      wallS: ours.wallMs / 1000,
      peakRssMiB: ours.peakRssBytes / MiB,
      writtenMiB: allocated(join(out, 'bench-sda')) / MiB,
      note: 'this run',
    });
    let reference;
    if (fresh) {
      const dir = join(work, `virt-v2v-${label.replace(/\W+/g, '-')}`);
      mkdirSync(dir);
      const r = await measured(
        'virt-v2v',
        ['-i', 'disk', image.path, '-o', 'local', '-os', dir, '-on', 'ref'],
        join(dir, 'log.txt'),
      );
      if (r.code !== 0) throw new Error(`virt-v2v failed:\n${r.output.slice(-2000)}`);
      reference = { dir, wallMs: r.wallMs, peakRssBytes: r.peakRssBytes, fresh: true };
    } else reference = await virtV2vReference(image, 'ref');
    rows.push({
      case: label,
      tool: 'virt-v2v',
      wallS: reference.wallMs / 1000,
      peakRssMiB: reference.peakRssBytes / MiB,
      writtenMiB: allocated(join(reference.dir, 'ref-sda')) / MiB,
      note: reference.fresh ? 'this run' : `REUSED cached run (${reference.dir})`,
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(
  `${pad('case', 28)}${pad('tool', 10)}${'wall s'.padStart(9)}${'peak RSS MiB'.padStart(14)}${'written MiB'.padStart(13)}  run`,
);
for (const r of rows)
  console.log(
    `${pad(r.case, 28)}${pad(r.tool, 10)}${r.wallS.toFixed(1).padStart(9)}${r.peakRssMiB.toFixed(0).padStart(14)}${r.writtenMiB.toFixed(0).padStart(13)}  ${r.note}`,
  );
for (const label of new Set(rows.map((r) => r.case))) {
  const [a, b] = [
    rows.find((r) => r.case === label && r.tool === 'tsv2v')!,
    rows.find((r) => r.case === label && r.tool === 'virt-v2v')!,
  ];
  console.log(
    `${label}: time ${(a.wallS / b.wallS).toFixed(2)}x, peak RSS ${(a.peakRssMiB / b.peakRssMiB).toFixed(2)}x, written ${(a.writtenMiB / b.writtenMiB).toFixed(2)}x (tsv2v / virt-v2v; below 1: tsv2v is smaller or faster)`,
  );
}
console.log(
  `load average at the end: ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (2 shared cores; compare ratios, not times)`,
);
