// The cache on real files in a private directory, with builds that take milliseconds: what
// is built once, what waits for a build in progress, what a dead builder leaves, and what a
// damaged entry gets (built again, told, and a second mismatch is an error).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { cached, cachedFile, copyHashed, sha256File, useCachedFile } from '../../src/cache.js';

const dir = mkdtempSync(join(tmpdir(), 'builder-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
/** A build that writes `text`. */
const write =
  (text: string) =>
  (temp: string): Promise<void> =>
    Promise.resolve(writeFileSync(temp, text));

void test('cached builds once, into a temporary name that is renamed into place', async () => {
  let builds = 0;
  const build = async (temp: string): Promise<void> => {
    builds++;
    assert.match(temp, /a\.tmp-\d+$/);
    mkdirSync(temp);
    writeFileSync(join(temp, 'f'), 'x');
    await sleep(5);
  };
  const [one, two] = await Promise.all([cached(dir, 'a', build), cached(dir, 'a', build)]);
  assert.equal(one, join(dir, 'a'));
  assert.equal(two, one);
  assert.equal(builds, 1);
  assert.deepEqual(readdirSync(dir).sort(), ['a']);
});

void test('a failed build leaves nothing, and the next call builds', async () => {
  await assert.rejects(
    cached(dir, 'b', async (temp) => {
      writeFileSync(temp, 'half');
      writeFileSync(`${temp}.work`, 'scratch');
      await Promise.resolve();
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('b')),
    [],
  );
  await cached(dir, 'b', (temp) => Promise.resolve(writeFileSync(temp, 'whole')));
  assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'whole');
});

void test("a dead builder's lock is taken over and its temporary files removed", async () => {
  // A process that is gone: its pid in the lock, its half-built file beside it.
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.once('exit', resolve));
  mkdirSync(join(dir, 'c.lock'));
  writeFileSync(join(dir, 'c.lock', 'pid'), String(dead.pid));
  writeFileSync(join(dir, `c.tmp-${dead.pid}`), 'half');
  mkdirSync(join(dir, `c.tmp-${dead.pid}.work`));
  await cached(dir, 'c', (temp) => Promise.resolve(writeFileSync(temp, 'built')));
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => n.startsWith('c'))
      .sort(),
    ['c'],
  );
});

void test('a live builder is waited for, not raced', async () => {
  mkdirSync(join(dir, 'd.lock'));
  writeFileSync(join(dir, 'd.lock', 'pid'), String(process.pid)); // "someone" alive
  let built = false;
  const waiting = cached(dir, 'd', (temp) => {
    built = true;
    return Promise.resolve(writeFileSync(temp, 'mine'));
  });
  await sleep(100);
  writeFileSync(join(dir, 'd'), 'theirs'); // the other builder finishes...
  rmSync(join(dir, 'd.lock'), { recursive: true }); // ...and lets go
  assert.equal(await waiting, join(dir, 'd'));
  assert.equal(built, false);
  assert.equal(readFileSync(join(dir, 'd'), 'utf8'), 'theirs');
});

void test('cachedFile keeps the SHA-256 beside the file, in sha256sum format', async () => {
  const entry = await cachedFile(dir, 'e.img', write('image'));
  assert.deepEqual(entry, { path: join(dir, 'e.img'), sha256: sha('image') });
  assert.equal(readFileSync(join(dir, 'e.img.sha256'), 'utf8'), `${sha('image')}  e.img\n`);
  assert.equal(await sha256File(entry.path), sha('image'));
});

void test('a file without its checksum (a build cut off between the two) is built again', async () => {
  writeFileSync(join(dir, 'f.img'), 'left over');
  const entry = await cachedFile(dir, 'f.img', write('fresh'));
  assert.equal(entry.sha256, sha('fresh'));
  assert.equal(readFileSync(entry.path, 'utf8'), 'fresh');
});

void test('a damaged entry is seen while it is read, built again and read again', async () => {
  let builds = 0;
  const build = (temp: string): Promise<void> => {
    builds++;
    return write('good bytes')(temp);
  };
  await cachedFile(dir, 'g.img', build);
  writeFileSync(join(dir, 'g.img'), 'good bytez'); // one byte flipped on disk
  const damaged: string[] = [];
  const out = join(dir, 'g.copy');
  const copied = await useCachedFile(
    dir,
    'g.img',
    build,
    async (path) => {
      rmSync(out, { force: true });
      return { sha256: await copyHashed(path, out), result: out };
    },
    (path) => damaged.push(path),
  );
  assert.deepEqual(damaged, [join(dir, 'g.img')]);
  assert.equal(builds, 2);
  assert.equal(readFileSync(copied, 'utf8'), 'good bytes');
});

void test('an entry that is damaged again right after its rebuild is an error', async () => {
  await cachedFile(dir, 'h.img', write('bytes'));
  await assert.rejects(
    useCachedFile(dir, 'h.img', write('bytes'), () =>
      Promise.resolve({ sha256: sha('not what was written'), result: null }),
    ),
    { code: 'COMMAND_FAILED', message: /does not match its checksum even just after it was built/ },
  );
  assert.ok(existsSync(join(dir, 'h.img.sha256')));
});
