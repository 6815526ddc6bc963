// The command line's contract that needs no database: --version, --help, exit statuses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const pgts = (...args: string[]): { status: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmpdir() });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

void test('--version and --help succeed', () => {
  assert.deepEqual(pgts('--version'), { status: 0, out: '0.1.0\n', err: '' });
  const help = pgts('--help');
  assert.equal(help.status, 0);
  assert.match(help.out, /^ {2}generate +describe every query/m);
  assert.match(
    help.out,
    /--config <file> +the configuration file \(default: "pgts\.config\.json"\)/,
  );
});

void test('usage errors exit with status 2', () => {
  for (const args of [[], ['bogus'], ['check', '--nope'], ['generate', 'extra'], ['--config']]) {
    const r = pgts(...args);
    assert.equal(r.status, 2, `pgts ${args.join(' ')}: ${r.err}`);
  }
});

void test('a missing configuration exits with status 1, saying how to fix it, before or after the command', () => {
  for (const args of [
    ['check'],
    ['--config', 'none.json', 'check'],
    ['check', '--config', 'none.json'],
  ]) {
    const r = pgts(...args);
    assert.equal(r.status, 1, r.err);
    assert.match(
      r.err,
      /^pgts: \/.*\.json not found: create it \(see the pgts README\) or pass --config\n$/,
    );
  }
});
