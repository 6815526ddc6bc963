import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  findTemplate,
  findTemplates,
  queryTemplate,
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

void test('the search path is the configured directories, then $MCLU_PATH', () => {
  assert.deepEqual(templateSearchPath(['/etc/t'], { MCLU_PATH: '/x::/y' }), ['/etc/t', '/x', '/y']);
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
