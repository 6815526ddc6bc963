import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readFile } from 'node:fs/promises';
import {
  buildDisk,
  checkBuild,
  findTemplate,
  findTemplates,
  queryTemplate,
  SHIPPED_TEMPLATES_DIR,
  templateSearchPath,
} from '../../src/templates.js';

let root: string;

async function script(dir: string, name: string, body: string, mode = 0o755): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(dir, name), mode);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mclu-templates-'));
  await script(
    join(root, 'a'),
    'fedora.template',
    'case "$1" in probe) echo hello;; base-image) echo fedora-40;; disk-bus) echo ide;; *) exit 2;; esac',
  );
  await script(join(root, 'a'), 'notes.txt', 'exit 0');
  await script(join(root, 'a'), 'broken.template', 'echo nope');
  await script(join(root, 'a'), 'plain.template', 'exit 0', 0o644);
  await script(join(root, 'b'), 'fedora.template', 'echo hidden');
  await script(
    join(root, 'b'),
    'debian.template',
    '[ "$1" = probe ] && echo hello && exit 0; exit 2',
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

void test('the search path: the configured directories, $MCLU_PATH, then the shipped ones', () => {
  assert.deepEqual(templateSearchPath(['/etc/t'], { MCLU_PATH: '/x::/y' }), [
    '/etc/t',
    '/x',
    '/y',
    SHIPPED_TEMPLATES_DIR,
  ]);
  assert.deepEqual(
    findTemplates([SHIPPED_TEMPLATES_DIR]).map((t) => t.name),
    ['debian-12'],
  );
});

void test('templates are executable NAME.template files; an earlier directory wins', () => {
  const found = findTemplates([join(root, 'a'), join(root, 'missing'), join(root, 'b')]);
  assert.deepEqual(
    found.map((t) => [t.name, t.path]),
    [
      ['broken', join(root, 'a', 'broken.template')],
      ['fedora', join(root, 'a', 'fedora.template')],
      ['debian', join(root, 'b', 'debian.template')],
    ],
  );
});

void test('a template answers its questions; unknown questions give the defaults', async () => {
  const path = [join(root, 'a'), join(root, 'b')];
  assert.deepEqual(await queryTemplate(findTemplate(path, 'fedora')), {
    name: 'fedora',
    path: join(root, 'a', 'fedora.template'),
    baseImage: 'fedora-40',
    diskBus: 'ide',
  });
  assert.deepEqual(await queryTemplate(findTemplate(path, 'debian')), {
    name: 'debian',
    path: join(root, 'b', 'debian.template'),
    baseImage: null,
    diskBus: 'virtio',
  });
  await assert.rejects(queryTemplate(findTemplate(path, 'broken')), {
    code: 'TEMPLATE_FAILED',
    message: /is not a template: `.*broken\.template probe` must print "hello"/,
  });
  assert.throws(() => findTemplate(path, 'plain'), {
    code: 'UNKNOWN_TEMPLATE',
    message: /no executable plain\.template in .*; templates found: broken, fedora, debian/,
  });
});

/** A template that records its arguments and environment, and refuses (status 1) a guest
 *  named "no"; `plain` answers no `check`. */
async function recordingTemplates(): Promise<{ dir: string; log: string }> {
  const dir = join(root, 'rec');
  const log = join(root, 'rec.log');
  const record = `echo "$*|name=$name|size=\${size-}|ssh_key=\${ssh_key-}|output=\${output-}" >> ${log}`;
  await script(
    dir,
    'rec.template',
    `case "$1" in probe) echo hello;; check) ${record}; [ "$name" = no ] && { echo "no is no name" >&2; exit 1; }; exit 0;; build) ${record}; : > "$output";; *) exit 2;; esac`,
  );
  await script(dir, 'plain.template', 'case "$1" in probe) echo hello;; *) exit 2;; esac');
  return { dir, log };
}

void test('check and build get the customisations as arguments and the key in ssh_key', async () => {
  const { dir, log } = await recordingTemplates();
  const template = findTemplate([dir], 'rec');
  const request = {
    name: 'web',
    format: 'qcow2',
    sizeBytes: 4n << 30n,
    baseImage: null,
    sshKey: 'ssh-ed25519 AAAA me@here',
    customizations: ['--install', 'nginx', '--timezone', 'UTC'],
  };
  const options = { timeoutMs: 10_000 };
  await checkBuild(template, request, options);
  await buildDisk(template, { ...request, output: join(root, 'out.qcow2') }, options);
  assert.deepEqual((await readFile(log, 'utf8')).split('\n'), [
    'check --install nginx --timezone UTC|name=web|size=4294967296|ssh_key=ssh-ed25519 AAAA me@here|output=',
    `build --install nginx --timezone UTC|name=web|size=4294967296|ssh_key=ssh-ed25519 AAAA me@here|output=${join(root, 'out.qcow2')}`,
    '',
  ]);
  await assert.rejects(checkBuild(template, { ...request, name: 'no' }, options), {
    code: 'TEMPLATE_FAILED',
    message: 'template rec refuses this build: no is no name',
  });
});

void test('a template that does not answer check takes no customisations', async () => {
  const { dir } = await recordingTemplates();
  const template = findTemplate([dir], 'plain');
  const request = {
    name: 'web',
    format: 'qcow2',
    sizeBytes: null,
    baseImage: null,
    sshKey: null,
    customizations: [],
  };
  await checkBuild(template, request, { timeoutMs: 10_000 });
  await assert.rejects(
    checkBuild(
      template,
      { ...request, customizations: ['--install', 'a', '--install', 'b', '--timezone', 'UTC'] },
      { timeoutMs: 10_000 },
    ),
    {
      code: 'TEMPLATE_FAILED',
      message:
        'template plain takes no options such as --install, --timezone: it does not answer `check`, so they would be ignored; remove them',
    },
  );
});
