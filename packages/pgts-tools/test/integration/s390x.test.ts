// pgts on a big-endian host for real: s390x, emulated by qemu-user through the repository's
// scripts/foreign-arch runner (skipped where the repository has none). Embedded PGlite is
// refused up front with the way out; `pgts generate` against a PostgreSQL 15 server works
// (without the parser: every column nullable); the runtime with pg decodes every kind of
// value on the big-endian host as on any other.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startPostgres, TEST_SCHEMA, type TestServer } from '@tsvirt/testpostgres';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REPO = resolve(PACKAGE, '../..');
const FOREIGN_ARCH = join(REPO, 'scripts/foreign-arch');
const CLI = join(PACKAGE, 'dist/src/cli/main.js');

const s390x = (
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): { code: number | null; out: string; err: string } => {
  const r = spawnSync(FOREIGN_ARCH, ['s390x', ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: 900_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** On each test, so that the skips are counted; until the repository has the runner. */
const RUNNER = { skip: !existsSync(FOREIGN_ARCH) && 'no scripts/foreign-arch in this repository' };

void describe('s390x (big-endian)', () => {
  let server: TestServer | undefined;
  let app: string;
  before(() => {
    if (RUNNER.skip !== false) return;
    server = startPostgres();
    app = mkdtempSync(join(tmpdir(), 'pgts-s390x-'));
    cpSync(join(PACKAGE, 'test/fixtures/app'), app, { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  });
  after(async () => {
    if (server === undefined) return;
    await server.stop();
    rmSync(app, { recursive: true, force: true });
  });

  void test('the host is big-endian', RUNNER, () => {
    const r = s390x(['node', '-p', 'os.endianness()'], { cwd: app });
    assert.equal(r.out.trim(), 'BE', r.err);
  });

  void test('embedded PGlite is refused up front, pointing to DATABASE_URL', RUNNER, () => {
    const r = s390x(['node', CLI, 'generate'], { cwd: app });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^pgts: embedded PGlite does not run on a big-endian host/m);
    assert.match(r.err, /"database": "env" in pgts.config.json and DATABASE_URL/);
    assert.doesNotMatch(r.err, /Fatal|\n\s+at /);
  });

  void test(
    'pgts generate against a server: exact types, every column nullable, said so',
    RUNNER,
    () => {
      const apply = spawnSync(
        'psql',
        ['-v', 'ON_ERROR_STOP=1', '-q', '-f', join(app, 'schema.sql')],
        {
          encoding: 'utf8',
          env: { ...process.env, ...server?.env },
        },
      );
      assert.equal(apply.status, 0, apply.stderr);
      writeFileSync(
        join(app, 'pgts.config.json'),
        JSON.stringify({
          sources: ['src/**/*.ts'],
          output: 'src/pgts.generated.d.ts',
          database: 'env',
        }),
      );
      const r = s390x(['node', CLI, 'generate'], { cwd: app, env: server?.env ?? {} });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /10 queries described against PostgreSQL/);
      assert.match(r.err, /parser \(WebAssembly\) does not run on this big-endian host/);
      const generated = readFileSync(join(app, 'src/pgts.generated.d.ts'), 'utf8');
      assert.match(
        generated,
        /"select id, subject from contacts where hostid = \$hostid and name = \$name": \{\n\s+params: \{ hostid: number; name: string \};\n\s+row: \{ id: number \| null; subject: string \| null \};/,
      );
    },
  );

  void test('the runtime with pg decodes every kind of value', RUNNER, () => {
    const created = spawnSync('psql', ['-q', '-c', 'create database runtime'], {
      encoding: 'utf8',
      env: { ...process.env, ...server?.env },
    });
    assert.equal(created.status, 0, created.stderr);
    const url = server?.url.replace('/postgres?', '/runtime?') ?? '';
    const script = `
      import pg from 'pg';
      import { pgDatabase } from '@tsvirt/pgts/pg';
      const client = new pg.Client(${JSON.stringify(url)});
      await client.connect();
      await client.query(${JSON.stringify(TEST_SCHEMA)});
      const db = pgDatabase(client);
      const row = await db.transaction((tx) => tx.one(
        "select 9007199254740993::int8 as big, '2024-05-06 07:08:09.123+02'::timestamptz as t, " +
        "array['sad', 'ok']::mood[] as m, row('x', 5)::address as a, '\\\\x00ff'::bytea as b, " +
        "$f::float8 as f, $j::jsonb as j", { f: 1.5, j: '{"k": [1]}' }));
      await client.end();
      console.log(JSON.stringify({ ...row, b: [...row.b] }));`;
    const r = s390x(['node', '--input-type=module', '-e', script], {
      cwd: join(REPO, 'packages/pgts'),
    });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      big: '9007199254740993',
      t: '2024-05-06T05:08:09.123Z',
      m: ['sad', 'ok'],
      a: { street: 'x', number: 5 },
      b: [0, 255],
      f: 1.5,
      j: { k: [1] },
    });
  });
});
