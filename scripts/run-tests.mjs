#!/usr/bin/env node
// Runs the compiled tests of every package (or of the packages named) with Node's own
// test runner. Unit tests (test/unit) need nothing but Node; integration tests
// (test/integration) start real peers (libvirtd, sshd, qemu, nbdkit, PostgreSQL...) and so
// run one file at a time. Usage:
//   node scripts/run-tests.mjs [--unit|--integration] [PACKAGE_DIR_OR_NAME...]
// Build first (`npm run build`): tests run from each package's dist/ directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const args = process.argv.slice(2);
const kinds = args.includes('--unit')
  ? ['unit']
  : args.includes('--integration')
    ? ['integration']
    : ['unit', 'integration'];
const wanted = args.filter((a) => !a.startsWith('--'));

const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const packages = workspaces.filter(
  (dir) =>
    wanted.length === 0 ||
    wanted.some((w) => resolve(w) === resolve(root, dir) || dir.endsWith('/' + w) || dir === w),
);
if (packages.length === 0) {
  console.error(
    `run-tests: no package matches ${wanted.join(' ')}; packages: ${workspaces.join(' ')}`,
  );
  process.exit(2);
}

// The compiled tests of a package: dist/test/KIND/**/X.test.js whose source
// test/KIND/**/X.test.ts still exists (tsc never deletes the output of a removed or moved
// source, and a stale copy would run again).
function testFiles(packageDir, kind, sub = '') {
  const dir = join(packageDir, 'dist/test', kind, sub);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(packageDir, kind, join(sub, name));
      if (!name.endsWith('.test.js')) return [];
      const source = join(packageDir, 'test', kind, sub, name.replace(/\.js$/, '.ts'));
      return existsSync(source) ? [path] : [];
    });
}

const totals = { pass: 0, fail: 0, skip: 0 };
for (const kind of kinds) {
  const files = packages.flatMap((p) => testFiles(join(root, p), kind));
  if (files.length === 0) continue;
  console.log(`\n== ${kind} tests: ${files.length} files ==`);
  const result = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${kind === 'unit' ? 2 : 1}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`,
      '--test-reporter-destination=stderr',
      ...files.map((f) => relative(root, f)),
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' },
  );
  // The counting reporter writes one JSON line at the very end of stderr.
  const lines = result.stderr.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  process.stderr.write(lines.join('\n') + (lines.length ? '\n' : ''));
  try {
    const counts = JSON.parse(last);
    totals.pass += counts.pass;
    totals.fail += counts.fail;
    totals.skip += counts.skip;
  } catch {
    process.stderr.write(last + '\n');
    totals.fail += 1;
  }
  if (result.status !== 0 && totals.fail === 0) totals.fail += 1;
}

console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped`);
process.exit(totals.fail > 0 ? 1 : totals.pass === 0 ? 1 : 0);
