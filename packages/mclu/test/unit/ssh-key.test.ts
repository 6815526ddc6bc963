// The user's ssh key for the guests templates make: [defaults] ssh_key (a key, or a file
// relative to the configuration or to ~), else the newest ~/.ssh/id*.pub; a key that is
// missing or damaged is a configuration error naming the file and the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { userPublicKey } from '../../src/ssh-key.js';

const home = mkdtempSync(join(tmpdir(), 'mclu-key-'));
let key = '';
before(() => {
  mkdirSync(join(home, '.ssh'));
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'me@here',
    '-f',
    join(home, '.ssh', 'id_ed25519'),
  ]);
  key = readFileSync(join(home, '.ssh', 'id_ed25519.pub'), 'utf8').trim();
});
after(() => rmSync(home, { recursive: true, force: true }));

const config = (line = ''): ReturnType<typeof parseConfig> =>
  parseConfig(`[defaults]\n${line}\n[nodes.n1]\nhost = "n1"\n`, '/etc/mclu/mclu.conf');

void test('ssh_key is a key, a file relative to the configuration, or a file under ~', () => {
  assert.deepEqual(config(`ssh_key = "${key}"`).defaults.sshKey, { key });
  assert.deepEqual(config('ssh_key = "keys/me.pub"').defaults.sshKey, {
    file: '/etc/mclu/keys/me.pub',
  });
  assert.deepEqual(config('ssh_key = "~/.ssh/id_rsa.pub"').defaults.sshKey, {
    file: join(homedir(), '.ssh/id_rsa.pub'),
  });
  assert.equal(config().defaults.sshKey, null);
});

void test('without ssh_key, the newest ~/.ssh/id*.pub; none at all is null', () => {
  assert.equal(userPublicKey(config(), home), key);
  execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-N', '', '-f', join(home, '.ssh', 'id_rsa')]);
  utimesSync(join(home, '.ssh', 'id_ed25519.pub'), new Date(), new Date(Date.now() + 60_000));
  assert.equal(userPublicKey(config(), home), key);
  const empty = mkdtempSync(join(tmpdir(), 'mclu-nokey-'));
  try {
    assert.equal(userPublicKey(config(), empty), null);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

void test('a configured key file that is missing or is no key is refused with the fix', () => {
  const missing = join(home, 'nosuch.pub');
  assert.throws(
    () => userPublicKey(config(`ssh_key = "${missing}"`), home),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        new RegExp(
          `defaults\\.ssh_key: cannot read ${missing}: ENOENT.*; fix the path, or remove the key to use the newest ~/\\.ssh/id\\*\\.pub`,
        ),
      );
      return true;
    },
  );
  const damaged = join(home, 'damaged.pub');
  writeFileSync(damaged, key.slice(0, 40));
  assert.throws(() => userPublicKey(config(`ssh_key = "${damaged}"`), home), {
    message: new RegExp(
      `${damaged}: not an ssh public key .*; set \\[defaults\\] ssh_key to your public key file`,
    ),
  });
  assert.equal(userPublicKey(config(`ssh_key = "${join(home, '.ssh', 'id_ed25519.pub')}"`)), key);
});
