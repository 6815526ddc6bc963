// The command line's contract that needs no cluster: exit statuses, usage errors, messages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

void test('strict input: sizes as documented, decimal vcpus, guest names within the rule', async () => {
  const refused: [string[], RegExp][] = [
    [
      ['boot', 'tiny', 'g', '--memory', '1.5K'],
      /--memory 1\.5K: not a size; write a whole number followed by K, M, G or T/,
    ],
    [
      ['boot', 'tiny', 'g', '--memory', '512K'],
      /--memory 512K: a guest needs at least 1M of memory/,
    ],
    [['boot', 'tiny', 'g', '--size', '0x10M'], /--size 0x10M: not a size/],
    [
      ['boot', 'tiny', 'g', '--vcpus', '0x2'],
      /--vcpus 0x2: must be a whole number from 1 to 4096, in decimal digits/,
    ],
    [['boot', 'tiny', 'g', '--vcpus', '0'], /--vcpus 0: must be a whole number from 1 to 4096/],
    [['boot', 'tiny', 'g', '--vcpus', '1.0'], /--vcpus 1\.0: must be a whole number/],
    [
      ['boot', 'tiny', 'n'.repeat(300)],
      /invalid guest name "n{60}"\.\.\. \(300 characters\): a guest name is 1 to 63 characters: letters, digits, "\.", "_", "\+" and "-", starting with a letter or digit/,
    ],
    [['build', 'tiny', 'node1:-x'], /invalid guest name "-x": a guest name is 1 to 63 characters/],
    [['boot', 'tiny', 'a/b'], /invalid guest name "a\/b"/],
  ];
  for (const [args, message] of refused) {
    const run = await mclu(args);
    assert.equal(run.code, 2, `mclu ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  }
});

void test('a configuration file writable by others, or its ssh_config, is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mclu-cli-'));
  try {
    const file = join(dir, 'mclu.conf');
    await writeFile(file, '[nodes.a]\nhost = "a"\n');
    await chmod(file, 0o666);
    const open = await mclu(['-f', file, 'status']);
    assert.equal(open.code, 1);
    assert.equal(
      open.stderr,
      `mclu: error: ${file}: refusing this configuration file: it is writable by its group and others (mode 0666); fix with chmod go-w\n`,
    );
    await chmod(file, 0o644);
    if (process.getuid?.() === 0) {
      // Owned by another user (the tests run as root, who can give it away).
      await chown(file, 65534, 65534);
      const foreign = await mclu(['-f', file, 'status']);
      assert.equal(foreign.code, 1);
      assert.match(
        foreign.stderr,
        /refusing this configuration file: it is owned by uid 65534, neither you \(uid 0\) nor root; anyone who can change it can make mclu run commands\n$/,
      );
      await chown(file, 0, 0);
    }
    await writeFile(file, '[defaults]\nvcpus = 2\n[nodes]\n');
    const empty = await mclu(['-f', file, 'status']);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /line 3: nodes: no node in it; add a table per node/);
    await writeFile(join(dir, 'ssh_config'), 'ProxyCommand touch /tmp/pwned\n');
    await chmod(join(dir, 'ssh_config'), 0o646);
    await writeFile(file, '[defaults]\nssh_config = "ssh_config"\n[nodes.a]\nhost = "a"\n');
    const proxy = await mclu(['-f', file, 'status']);
    assert.equal(proxy.code, 1);
    assert.match(
      proxy.stderr,
      /refusing the ssh_config .*\/ssh_config: it is writable by others \(mode 0646\); fix with chmod go-w/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
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
