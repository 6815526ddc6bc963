import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { viewerCommand } from '../../src/viewer.js';

async function withPrograms(names: string[], work: (path: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mclu-viewer-'));
  try {
    for (const name of names) {
      await writeFile(join(dir, name), '#!/bin/sh\n');
      await chmod(join(dir, name), 0o755);
    }
    work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('virt-viewer is preferred and given the node URI and the guest', async () => {
  await withPrograms(['virt-viewer', 'remote-viewer'], (dir) => {
    assert.deepEqual(viewerCommand('qemu+ssh://root@ham0/system', 'web', 'vnc://ham0:5900', dir), {
      program: join(dir, 'virt-viewer'),
      args: ['--connect', 'qemu+ssh://root@ham0/system', '--wait', 'web'],
    });
  });
});

void test('remote-viewer gets the display URI; without a display the error says so', async () => {
  await withPrograms(['remote-viewer'], (dir) => {
    assert.deepEqual(viewerCommand('qemu:///system', 'web', 'spice://ham0:5900', dir), {
      program: join(dir, 'remote-viewer'),
      args: ['spice://ham0:5900'],
    });
    assert.throws(() => viewerCommand('qemu:///system', 'web', null, dir), {
      code: 'TOOL_MISSING',
      message: /guest web has no graphical display/,
    });
  });
});

void test('no viewer installed: the error names the package to install', async () => {
  await withPrograms([], (dir) => {
    assert.throws(() => viewerCommand('qemu:///system', 'web', null, dir), {
      code: 'TOOL_MISSING',
      message: /install the virt-viewer package/,
    });
  });
});
