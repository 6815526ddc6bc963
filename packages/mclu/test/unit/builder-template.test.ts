// The debian-12 template's `check`, as mclu runs it: what it refuses, in one line on stderr
// with exit status 1, before anything is copied or launched (the build itself is tested on
// a real cluster, test/integration/debian-template.test.ts).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SHIPPED_TEMPLATES_DIR } from '../../src/templates.js';

const TEMPLATE = join(SHIPPED_TEMPLATES_DIR, 'debian-12.template');
const dir = mkdtempSync(join(tmpdir(), 'mclu-debian-check-'));
let key = '';
before(() => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  key = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
});
after(() => rmSync(dir, { recursive: true, force: true }));

function check(env: Record<string, string>, ...args: string[]): { code: number; stderr: string } {
  const run = spawnSync(TEMPLATE, ['check', ...args], {
    env: {
      PATH: process.env['PATH'],
      name: 'web',
      format: 'qcow2',
      base_image: 'debian-12',
      ssh_key: key,
      ...env,
    },
    encoding: 'utf8',
  });
  return { code: run.status ?? -1, stderr: run.stderr };
}

void test('the questions, and a build it accepts', () => {
  const answer = (q: string): string => execFileSync(TEMPLATE, [q], { encoding: 'utf8' }).trim();
  assert.equal(answer('probe'), 'hello');
  assert.equal(answer('base-image'), 'debian-12');
  assert.equal(answer('disk-bus'), 'virtio');
  assert.deepEqual(
    check({ size: String(20n << 30n) }, '--timezone', 'UTC', '--run-command', '--x'),
    {
      code: 0,
      stderr: '',
    },
  );
});

void test('what it refuses, in one line each', () => {
  const refusals: [Record<string, string>, string[], RegExp][] = [
    [
      { ssh_key: '' },
      [],
      /^no ssh public key to let you log into web: set \[defaults\] ssh_key in mclu\.conf/,
    ],
    [{ ssh_key: 'ssh-ed25519 AAAAC3Nza' }, [], /^--ssh-inject root:string:: not an ssh public key/],
    [
      { size: String(1n << 30n) },
      [],
      /^size 1073741824 bytes is smaller than the debian-12 image \(2147483648 bytes, 2G\); give at least 2G$/,
    ],
    [
      { name: 'a_b' },
      [],
      /^the guest name a_b is not a valid host name for the guest \(.*\); choose another name$/,
    ],
    [
      {},
      ['--root-password', 'password:x'],
      /^--root-password: not an option of this template \(it takes --install, --run-command, --firstboot-command, --timezone\)$/,
    ],
    [{}, ['--install', 'Bad_Name'], /^--install: "Bad_Name" is not a Debian package name/],
    [{ base_image: 'fedora-40' }, [], /^no image "fedora-40"; the builder makes: debian-12$/],
  ];
  for (const [env, args, message] of refusals) {
    const run = check(env, ...args);
    assert.equal(run.code, 1, `${JSON.stringify(env)} ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr.trim(), message);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  }
});
