// The command line's contract that needs no cluster: exit statuses, usage errors, messages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function mclu(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', MCLU_CONFIG: '', ...env }, cwd: tmpdir() },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}

void test('--version and --help succeed', async () => {
  const version = await mclu(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const help = await mclu(['boot', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: mclu boot \[options\] <template> <name>/);
});

void test('usage errors exit with status 2', async () => {
  for (const args of [
    ['bogus'],
    ['start'],
    ['start', 'a', 'b'],
    ['boot', 'tiny', 'x', '--memory', '1Q'],
    ['status', '--nope'],
  ]) {
    const run = await mclu(args);
    assert.equal(run.code, 2, `mclu ${args.join(' ')}: ${run.stderr}`);
  }
});

void test('a missing or bad configuration exits with status 1 and says how to fix it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mclu-cli-'));
  try {
    const missing = await mclu(['-f', join(dir, 'none.conf'), 'status']);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `mclu: error: ${join(dir, 'none.conf')}: no such configuration file; check the path given with -f or $MCLU_CONFIG\n`,
    );
    const bad = join(dir, 'mclu.conf');
    await writeFile(bad, '[nodes.a]\nhost = "a"\nmac = "zz"\n');
    const viaEnv = await mclu(['list'], { MCLU_CONFIG: bad });
    assert.equal(viaEnv.code, 1);
    assert.match(
      viaEnv.stderr,
      /^mclu: error: .*mclu\.conf: line 3: nodes\.a\.mac: must be a MAC address such as "74:d4:35:51:ab:86"\n$/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
