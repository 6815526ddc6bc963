// The customisation options as virt-customize users write them: parsed in order, checked
// before anything is built, and anything else refused with the list of what is implemented.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  checkHostname,
  checkPublicKey,
  defaultPublicKeyFile,
  parseOperations,
} from '../../src/operations.js';

const dir = mkdtempSync(join(tmpdir(), 'builder-ops-'));
let key = '';
before(() => {
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'me@here',
    '-f',
    join(dir, 'k'),
  ]);
  key = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
});
after(() => rmSync(dir, { recursive: true, force: true }));

void test('operations come out in the order given, both spellings of a value', () => {
  const ops = parseOperations([
    '--install',
    'nginx,curl',
    '--run-command=echo one',
    '--timezone',
    'Europe/Paris',
    '--run-command',
    'echo two',
    '--firstboot-command',
    'touch /x',
    '--hostname',
    'web.example.com',
  ]);
  assert.deepEqual(ops, [
    { kind: 'install', packages: ['nginx', 'curl'] },
    { kind: 'run-command', command: 'echo one' },
    { kind: 'timezone', timezone: 'Europe/Paris' },
    { kind: 'run-command', command: 'echo two' },
    { kind: 'firstboot-command', command: 'touch /x' },
    { kind: 'hostname', hostname: 'web.example.com' },
  ]);
});

void test('--ssh-inject takes USER:string:KEY, USER:file:PATH, or USER for the newest ~/.ssh/id*.pub', () => {
  assert.deepEqual(parseOperations(['--ssh-inject', `root:string:${key}`]), [
    { kind: 'ssh-inject', user: 'root', key, from: 'the command line' },
  ]);
  assert.deepEqual(parseOperations(['--ssh-inject', `root:file:${join(dir, 'k.pub')}`]), [
    { kind: 'ssh-inject', user: 'root', key, from: join(dir, 'k.pub') },
  ]);
  assert.throws(() => parseOperations(['--ssh-inject', `root:file:${join(dir, 'none.pub')}`]), {
    code: 'BAD_REQUEST',
    message: /--ssh-inject root:file:.*none\.pub: cannot read .*none\.pub: ENOENT/,
  });
  assert.throws(() => parseOperations(['--ssh-inject', `root:key:${key}`]), {
    message: /given as root:file:PATH or root:string:KEY/,
  });
  assert.throws(() => parseOperations(['--ssh-inject', `Root!:string:${key}`]), {
    message: /"Root!" is not a user name/,
  });
});

void test('the default key is the newest id*.pub of ~/.ssh, as ssh-copy-id picks it', () => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  assert.equal(defaultPublicKeyFile(home), null);
  for (const [name, age] of [
    ['id_rsa.pub', 300],
    ['id_ed25519.pub', 100],
    ['id_ed25519-cert.pub', 0],
    ['other.pub', 0],
  ] as const) {
    writeFileSync(join(home, '.ssh', name), key);
    const when = Date.now() / 1000 - age;
    utimesSync(join(home, '.ssh', name), when, when);
  }
  assert.equal(defaultPublicKeyFile(home), join(home, '.ssh', 'id_ed25519.pub'));
});

void test('a public key must be one OpenSSH line whose base64 repeats its type', () => {
  assert.equal(checkPublicKey(`\n# mine\n${key}\n`, 'k.pub'), key);
  const [type, blob] = key.split(' ');
  assert.throws(() => checkPublicKey('', 'k.pub'), {
    message: /k\.pub: expected one ssh public key line.*found 0/,
  });
  assert.throws(() => checkPublicKey(`${key}\n${key}`, 'k.pub'), { message: /found 2/ });
  assert.throws(() => checkPublicKey(readFileSync(join(dir, 'k'), 'utf8'), 'k'), {
    message: /k: (not an ssh public key|expected one ssh public key line)/,
  });
  assert.throws(() => checkPublicKey(`${type} ${blob?.slice(0, 30)}`, 'paste'), {
    message: /paste: not an ssh public key .*its base64 part is damaged/,
  });
  assert.throws(() => checkPublicKey(`ssh-rsa ${blob}`, 'paste'), { message: /damaged/ });
  assert.throws(() => checkPublicKey(`ssh-foo ${blob}`, 'paste'), {
    message: /not an ssh public key/,
  });
});

void test('host names: labels of letters, digits and hyphens', () => {
  for (const good of ['web', 'web-1', 'a.b.c', 'x'.repeat(63)]) checkHostname(good);
  for (const badName of ['web_1', 'web+1', '-web', 'web-', 'a..b', 'x'.repeat(64), '']) {
    assert.throws(() => checkHostname(badName), {
      code: 'BAD_REQUEST',
      message: /not a host name/,
    });
  }
});

void test('bad values are refused before anything is built', () => {
  const cases: [string[], RegExp][] = [
    [['--install', ''], /--install: give one or more packages/],
    [['--install', 'nginx,Bad_Name'], /--install: "Bad_Name" is not a Debian package name/],
    [
      ['--timezone', '../../etc/passwd'],
      /--timezone "\.\.\/\.\.\/etc\/passwd": not a time zone name/,
    ],
    [['--run-command', '  '], /--run-command: the command is empty/],
    [['--hostname', 'a_b'], /--hostname "a_b": not a host name/],
    [['--install'], /--install.*argument missing/i],
  ];
  for (const [args, message] of cases)
    assert.throws(() => parseOperations(args), { code: 'BAD_REQUEST', message });
});

void test("virt-customize's other options are refused, naming what is implemented", () => {
  for (const option of ['--root-password', '--upload', '--update', '--selinux-relabel']) {
    assert.throws(() => parseOperations([option, 'x']), {
      code: 'BAD_REQUEST',
      message: new RegExp(
        `Unknown option '${option}'; the customisations implemented are --hostname, --ssh-inject, --timezone, --install, --run-command, --firstboot-command \\(virt-customize's others are refused, not ignored\\)`,
      ),
    });
  }
  assert.throws(() => parseOperations(['stray']), { message: /positional|Unexpected argument/i });
});
