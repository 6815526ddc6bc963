// The command line's contract that needs no image build: --version, --help, usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const testimages = (...args: string[]): { status: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

void test('--version and --help succeed', () => {
  assert.deepEqual(testimages('--version'), { status: 0, out: '0.1.0\n', err: '' });
  const help = testimages('debian', '--help');
  assert.equal(help.status, 0);
  assert.match(help.out, /--layout <layout> +disk layout \(choices: "mbr-ext4", "gpt-lvm"/);
});

void test('usage errors exit with status 2 before anything is built', () => {
  const refused: [string[], RegExp][] = [
    [[], /^Usage: testimages/],
    [['bogus'], /unknown command 'bogus'/],
    [['debian', '--size', '4.5'], /'4\.5' is invalid\. a whole number of GiB, e\.g\. 4/],
    [['debian', '--layout', 'zfs'], /Allowed choices are mbr-ext4, gpt-lvm/],
    [['debian', '--modules', ','], /give "most" or a comma-separated list/],
    [['debian', 'extra'], /too many arguments/],
  ];
  for (const [args, message] of refused) {
    const r = testimages(...args);
    assert.equal(r.status, 2, `testimages ${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
});
