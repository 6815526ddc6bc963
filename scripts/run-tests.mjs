#!/usr/bin/env node
// Runs the compiled tests of every package (or of the packages named) with Node's own
// test runner, in three tiers:
//   unit         test/unit: fast tests that need nothing but Node, on this Node
//   integration  test/integration: against real peers (libvirtd, sshd, qemu, nbdkit,
//                PostgreSQL...), one file at a time
//   platforms    the unit tests again on the newest Node LTS (x64, from the npm registry),
//                and those of the byte-level packages on s390x (big-endian) and arm64 under
//                qemu-user (scripts/foreign-arch)
//   slow         integration tests named *.slow.test.ts (runs of many minutes, such as
//                virt-v2v's initramfs rebuilds under TCG): only when asked for, never in
//                the other tiers
// Usage:
//   node scripts/run-tests.mjs [--unit|--integration|--platforms|--slow] [PACKAGE_DIR_OR_NAME...]
// Without a tier, the first three. Build first (`npm run build`): tests run from each package's
// dist/ directory. The closing line adds up every run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest Node.js LTS, which the unit tests run on as well as on the machine's Node. */
const NEWEST_LTS = '24.22.3';
/** The packages whose code depends on byte order and word size: run on other CPUs too. */
const BYTE_LEVEL = ['xdr', 'libvirt', 'nbd', 'pgts', 'pgts-tools'];

const root = resolve(fileURLToPath(import.meta.url), '../..');
const args = process.argv.slice(2);
const TIERS = ['unit', 'integration', 'platforms', 'slow'];
const chosen = TIERS.filter((t) => args.includes(`--${t}`));
const tiers = chosen.length > 0 ? chosen : TIERS.filter((t) => t !== 'slow');
const unknown = args.filter((a) => a.startsWith('--') && !TIERS.includes(a.slice(2)));
if (unknown.length > 0) {
  console.error(
    `run-tests: unknown option ${unknown.join(' ')} (--unit, --integration, --platforms, --slow)`,
  );
  process.exit(2);
}
const wanted = args.filter((a) => !a.startsWith('--'));

const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const matches = (dir, w) => resolve(w) === resolve(root, dir) || dir.endsWith('/' + w) || dir === w;
const packages = workspaces.filter(
  (dir) => wanted.length === 0 || wanted.some((w) => matches(dir, w)),
);
if (packages.length === 0) {
  console.error(
    `run-tests: no package matches ${wanted.join(' ')}; packages: ${workspaces.join(' ')}`,
  );
  process.exit(2);
}
const byteLevel = packages.filter((dir) => BYTE_LEVEL.some((name) => dir === `packages/${name}`));

// The compiled tests of a package: dist/test/KIND/**/X.test.js whose source
// test/KIND/**/X.test.ts still exists (tsc never deletes the output of a removed or moved
// source, and a stale copy would run again); X.slow.test.js only for the slow tier.
function testFiles(packageDir, kind, slow, sub = '') {
  const dir = join(packageDir, 'dist/test', kind, sub);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(packageDir, kind, slow, join(sub, name));
      if (!name.endsWith('.test.js') || name.endsWith('.slow.test.js') !== slow) return [];
      const source = join(packageDir, 'test', kind, sub, name.replace(/\.js$/, '.ts'));
      return existsSync(source) ? [path] : [];
    });
}

/** A Node.js from the npm registry (scripts/node-from-npm), downloaded once and cached. */
function nodeFromNpm(arch, version) {
  const r = spawnSync(join(root, 'scripts/node-from-npm'), [arch, version], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

const foreign = (arch) => [join(root, 'scripts/foreign-arch'), arch, 'node'];
const runs = [
  { tier: 'unit', kind: 'unit', label: `unit tests (Node ${process.version})`, packages },
  { tier: 'integration', kind: 'integration', label: 'integration tests', packages },
  { tier: 'slow', kind: 'integration', label: 'slow tests', packages },
  {
    tier: 'platforms',
    kind: 'unit',
    label: `unit tests on Node ${NEWEST_LTS}`,
    packages,
    node: () => nodeFromNpm('x64', NEWEST_LTS),
  },
  ...['s390x', 'arm64'].map((arch) => ({
    tier: 'platforms',
    kind: 'unit',
    label: `unit tests on ${arch} (qemu-user)`,
    packages: byteLevel,
    node: () => foreign(arch),
  })),
];

const totals = { pass: 0, fail: 0, skip: 0 };
const summary = [];
for (const run of runs.filter((r) => tiers.includes(r.tier))) {
  const files = run.packages.flatMap((p) =>
    testFiles(join(root, p), run.kind, run.tier === 'slow'),
  );
  if (files.length === 0) continue;
  console.log(`\n== ${run.label}: ${files.length} files ==`);
  const started = Date.now();
  const counts = runFiles(run, files);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  summary.push(
    `  ${run.label}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped (${seconds} s)`,
  );
  totals.pass += counts.pass;
  totals.fail += counts.fail;
  totals.skip += counts.skip;
}

/** Runs the files under one test runner; the counts its reporter gives (a failure if none). */
function runFiles(run, files) {
  const command = run.node === undefined ? [process.execPath] : run.node();
  if (command === null) return { pass: 0, fail: 1, skip: 0 };
  const [program, ...prefix] = Array.isArray(command) ? command : [command];
  const result = spawnSync(
    program,
    [
      ...prefix,
      '--test',
      `--test-concurrency=${run.kind === 'unit' ? 2 : 1}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`,
      '--test-reporter-destination=stderr',
      ...files.map((f) => relative(root, f)),
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' },
  );
  // The counting reporter writes one JSON line at the very end of stderr.
  const lines = (result.stderr ?? '').trimEnd().split('\n');
  const last = lines.pop() ?? '';
  process.stderr.write(lines.join('\n') + (lines.length ? '\n' : ''));
  let counts;
  try {
    counts = JSON.parse(last);
  } catch {
    process.stderr.write(last + '\n');
    return { pass: 0, fail: 1, skip: 0 };
  }
  if (result.status !== 0 && counts.fail === 0) counts.fail = 1;
  return counts;
}

if (summary.length > 1) console.log(`\n${summary.join('\n')}`);
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped`);
process.exit(totals.fail > 0 ? 1 : totals.pass === 0 ? 1 : 0);
