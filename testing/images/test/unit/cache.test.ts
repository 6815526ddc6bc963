// The image cache's locking: a lock and a half-built temporary left by a builder that was
// killed are taken over and removed, also when the dead builder's pid now belongs to
// another process; concurrent callers build once.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

const dir = mkdtempSync(join(tmpdir(), 'testimages-cache-'));
process.env['TSVIRT_IMAGE_CACHE'] = dir;
// CACHE_DIR is read when the module loads: import it after setting the variable.
const { cached } = await import('../../src/cache.js');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that no process holds any more. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

async function buildOnce(name: string): Promise<{ path: string; builds: number }> {
  let builds = 0;
  const path = await cached(name, (temp) => {
    builds += 1;
    writeFileSync(temp, 'built');
    return Promise.resolve();
  });
  return { path, builds };
}

void test('a dead builder’s lock and half-built files are taken over and removed', async () => {
  const pid = deadPid();
  mkdirSync(join(dir, 'a.lock'));
  writeFileSync(join(dir, 'a.lock/pid'), String(pid)); // an older version's lock: pid only
  mkdirSync(join(dir, `a.tmp-${pid}`));
  mkdirSync(join(dir, `a.tmp-${pid}.work`));
  mkdirSync(join(dir, `ab.tmp-${pid}`)); // another name's: kept

  const { path, builds } = await buildOnce('a');
  assert.equal(path, join(dir, 'a'));
  assert.equal(builds, 1);
  assert.deepEqual(readdirSync(dir).sort(), ['a', `ab.tmp-${pid}`]);
});

void test(
  'a lock whose pid now belongs to another process is taken over',
  { timeout: 30_000 },
  async () => {
    mkdirSync(join(dir, 'b.lock'));
    writeFileSync(join(dir, 'b.lock/pid'), String(process.pid)); // alive, but...
    writeFileSync(join(dir, 'b.lock/started'), '1'); // ...not the process that took the lock

    const { builds } = await buildOnce('b');
    assert.equal(builds, 1);
    assert.equal(existsSync(join(dir, 'b.lock')), false);
  },
);

void test('concurrent callers build once and all get the result', async () => {
  const results = await Promise.all([buildOnce('c'), buildOnce('c'), buildOnce('c')]);
  assert.equal(
    results.reduce((sum, r) => sum + r.builds, 0),
    1,
  );
  assert.ok(results.every((r) => r.path === join(dir, 'c')));
});
