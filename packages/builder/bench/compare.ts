// A guest disk from the cached debian-12 base, made by @tsvirt/builder and by virt-builder
// side by side in one run, to the same result: 3 GiB qcow2, root grown to the disk, host name
// and root's ssh key. virt-builder is given the same base image as a template of a local
// repository (file:// index), so both start from the same bytes; what differs is the work
// per guest (ours: a copy, qemu-img resize and one appliance launch that grows the
// partition and customises; virt-builder: a copy, virt-resize into a new disk, and
// virt-customize's launch). Prints times and the ratio (ours / theirs: below 1 is faster).
//   node packages/builder/dist/bench/compare.js [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { buildImage, parseOperations } from '../src/index.js';
import { baseImageName, IMAGES } from '../src/debian.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const runs = Number(values.runs);
const CACHE = process.env['TSVIRT_IMAGE_CACHE'] ?? '/var/tmp/tsvirt-images';
const SIZE = 3n << 30n;
const env = {
  ...process.env,
  LIBGUESTFS_BACKEND: 'direct',
  LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
};
/** virt-builder reads the repositories of /etc/virt-builder besides --source (and fetches
 *  their indexes from the network, which is closed here): point it at none. */
const noRepos = (dir: string): NodeJS.ProcessEnv => ({
  ...env,
  XDG_CONFIG_HOME: dir,
  XDG_CONFIG_DIRS: dir,
  VIRT_BUILDER_DIRS: dir,
});

async function sha512(path: string): Promise<string> {
  const hash = createHash('sha512');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const seconds = (since: number): number => (performance.now() - since) / 1000;
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const work = mkdtempSync(join(tmpdir(), 'builder-bench-'));
try {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'k')]);
  const operations = ['--hostname', 'web', '--ssh-inject', `root:file:${join(work, 'k.pub')}`];

  // A first build makes sure the base is cached (and is not counted).
  await buildImage({
    image: 'debian-12',
    output: join(work, 'warm.qcow2'),
    cacheDir: CACHE,
    operations: [],
  });
  rmSync(join(work, 'warm.qcow2'));

  // The same base as virt-builder's template, in a local repository.
  const image = IMAGES.get('debian-12');
  if (image === undefined) throw new Error('no debian-12 image');
  const base = join(CACHE, baseImageName(image));
  const repo = join(work, 'repo');
  execFileSync('mkdir', [repo]);
  symlinkSync(base, join(repo, 'debian-12.qcow2'));
  writeFileSync(
    join(repo, 'index'),
    [
      '[debian-12]',
      'name=Debian 12 (the @tsvirt/builder base)',
      'osinfo=debian12',
      'arch=x86_64',
      'file=debian-12.qcow2',
      `checksum[sha512]=${await sha512(base)}`,
      'format=qcow2',
      `size=${image.sizeBytes}`,
      'expand=/dev/sda1',
      'revision=1',
      '',
    ].join('\n'),
  );

  const ours: number[] = [];
  const steps: string[] = [];
  const theirs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const ourOutput = join(work, `ours-${run}.qcow2`);
    let t = performance.now();
    const result = await buildImage({
      image: 'debian-12',
      output: ourOutput,
      sizeBytes: SIZE,
      cacheDir: CACHE,
      operations: parseOperations(operations),
    });
    ours.push(seconds(t));
    const { copy, launch, customize, close } = result.seconds;
    steps.push(
      `copy ${copy.toFixed(1)}, launch ${launch.toFixed(1)}, grow and customise ${customize.toFixed(1)}, close ${close.toFixed(1)}`,
    );
    rmSync(ourOutput);

    const theirOutput = join(work, `theirs-${run}.qcow2`);
    t = performance.now();
    const vb = spawnSync(
      'virt-builder',
      [
        'debian-12',
        ...['--source', `file://${join(repo, 'index')}`, '--no-check-signature', '--no-cache'],
        ...['--format', 'qcow2', '--size', `${SIZE}b`, '-o', theirOutput, '--quiet'],
        ...operations,
      ],
      { env: noRepos(join(work, 'no-repos')), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (vb.status !== 0) throw new Error(`virt-builder failed (${vb.status}): ${vb.stderr}`);
    theirs.push(seconds(t));
    if (BigInt(statSync(theirOutput).size) === 0n) throw new Error('virt-builder wrote nothing');
    rmSync(theirOutput);
  }
  const o = median(ours);
  const v = median(theirs);
  console.log(
    `guest disk from the cached base (3 GiB, --hostname, --ssh-inject), median of ${runs}:`,
  );
  console.log(`  @tsvirt/builder  ${o.toFixed(1)} s   (${steps.join('; ')})`);
  console.log(`  virt-builder     ${v.toFixed(1)} s`);
  console.log(`  ratio            ${(o / v).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
