// scripts/commands.mjs link/unlink against a temporary prefix: which files in PREFIX/bin it
// replaces (its own links, those of another clone of this project, alive or deleted) and
// which it never touches (a file of its own, a link elsewhere). CI installs a fresh clone
// over the links an older clone left, so this is what decides whether CI can start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/commands.mjs');
/** mclu's command file, relative to a clone: the file every clone's link points at. */
const MCLU = 'packages/mclu/dist/src/cli/main.js';

function commands(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

void describe('scripts/commands.mjs link', () => {
  let dir: string;
  let bin: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsvirt-commands-'));
    bin = join(dir, 'prefix/bin');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fresh = (): void => {
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin, { recursive: true });
  };
  const link = (): ReturnType<typeof commands> => commands('link', '--prefix', join(dir, 'prefix'));
  const mcluLink = (): string => readlinkSync(join(bin, 'mclu'));

  /** A clone of a project named `name` with mclu's command file, under dir. */
  function clone(label: string, name: string): string {
    const path = join(dir, label);
    mkdirSync(join(path, 'packages/mclu/dist/src/cli'), { recursive: true });
    writeFileSync(join(path, 'package.json'), JSON.stringify({ name }));
    writeFileSync(join(path, MCLU), '#!/usr/bin/env node\n');
    return path;
  }

  void it('links every command into an empty bin, and again over its own links', () => {
    fresh();
    for (let round = 0; round < 2; round++) {
      const r = link();
      assert.equal(r.status, 0, r.out);
      assert.equal(mcluLink(), join(ROOT, MCLU));
    }
  });

  void it('replaces the link of another clone of this project, and says so', () => {
    fresh();
    const older = clone('older-clone', 'tsvirt');
    symlinkSync(join(older, MCLU), join(bin, 'mclu'));
    const r = link();
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /mclu: replacing the link into .*older-clone, another clone/);
    assert.equal(mcluLink(), join(ROOT, MCLU));
  });

  void it('replaces the dangling link of a clone since deleted', () => {
    fresh();
    symlinkSync(join(dir, 'deleted-clone', MCLU), join(bin, 'mclu'));
    const r = link();
    assert.equal(r.status, 0, r.out);
    assert.equal(mcluLink(), join(ROOT, MCLU));
  });

  void it('never replaces a file of its own, a link into another project or a link elsewhere', () => {
    const other = clone('other-project', 'not-tsvirt');
    const cases: [string, () => void][] = [
      ['a file', () => writeFileSync(join(bin, 'mclu'), '#!/bin/sh\necho mine\n')],
      ['another project', () => symlinkSync(join(other, MCLU), join(bin, 'mclu'))],
      ['elsewhere', () => symlinkSync('/usr/bin/true', join(bin, 'mclu'))],
    ];
    for (const [what, make] of cases) {
      fresh();
      make();
      const before = lstatSync(join(bin, 'mclu')).isSymbolicLink()
        ? mcluLink()
        : readFileSync(join(bin, 'mclu'), 'utf8');
      const r = link();
      assert.equal(r.status, 1, `${what}: ${r.out}`);
      assert.match(r.out, /mclu: .*\/mclu exists and is not a link into this clone: remove it/);
      const now = lstatSync(join(bin, 'mclu')).isSymbolicLink()
        ? mcluLink()
        : readFileSync(join(bin, 'mclu'), 'utf8');
      assert.equal(now, before, `${what} was changed`);
      // The other commands are linked all the same.
      assert.equal(readlinkSync(join(bin, 'tsnbd')).startsWith(ROOT), true);
    }
  });

  void it('unlink removes only the links into this clone', () => {
    fresh();
    assert.equal(link().status, 0);
    writeFileSync(join(bin, 'mine'), 'keep');
    const r = commands('unlink', '--prefix', join(dir, 'prefix'));
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /removed .*\/mclu/);
    assert.equal(readFileSync(join(bin, 'mine'), 'utf8'), 'keep');
    assert.throws(() => lstatSync(join(bin, 'mclu')), { code: 'ENOENT' });
  });
});
