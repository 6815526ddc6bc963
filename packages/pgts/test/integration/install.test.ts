// The runtime as an application gets it: `npm pack` of this package installed into an empty
// project next to the one driver the application chose (from the npm cache when it can).
// What lands in node_modules is the driver and the runtime's two small protocol libraries:
// no TypeScript, no tooling, not the other driver. The installed package then runs a query.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startPostgres, type TestServer } from '@tsvirt/testpostgres';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REPO_MODULES = resolve(PACKAGE, '../../node_modules');

/** The version this repository tests with, so that npm finds it in its cache. */
const versionOf = (name: string): string =>
  (
    JSON.parse(readFileSync(join(REPO_MODULES, name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

const npm = (cwd: string, args: string[]): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Installs an app of the runtime and `driver`; returns its directory and what npm ls lists. */
function installApp(
  dir: string,
  tarball: string,
  driver: string,
): { app: string; names: string[] } {
  const app = join(dir, driver.replace(/\W/g, '-'));
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      type: 'module',
      dependencies: { '@tsvirt/pgts': `file:${tarball}`, [driver]: versionOf(driver) },
    }),
  );
  npm(app, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']);
  // As a person reads it: no mention of typescript at all.
  assert.doesNotMatch(npm(app, ['ls', '--omit=dev', '--all']), /typescript/);
  const names = new Set<string>();
  const walk = (tree: Tree): void => {
    for (const [name, sub] of Object.entries(tree.dependencies ?? {})) {
      // An optional peer dependency left out is listed without a version.
      if (sub.version !== undefined) names.add(name);
      walk(sub);
    }
  };
  walk(JSON.parse(npm(app, ['ls', '--omit=dev', '--all', '--json'])) as Tree);
  return { app, names: [...names].sort() };
}

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

const run = (app: string, script: string): string => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: app,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};

void describe('the runtime installed from its tarball', () => {
  let dir: string;
  let tarball: string;
  let server: TestServer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgts-install-'));
    const packed = JSON.parse(
      npm(PACKAGE, ['pack', '--json', '--pack-destination', dir]),
    ) as Array<{ filename: string }>;
    tarball = join(dir, packed[0]?.filename ?? '');
    server = startPostgres();
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('with pg: no typescript, no PGlite; a query runs', () => {
    const { app, names } = installApp(dir, tarball, 'pg');
    assert.ok(names.includes('@tsvirt/pgts') && names.includes('pg'), names.join(' '));
    for (const absent of ['typescript', '@electric-sql/pglite', 'libpg-query', 'fast-glob']) {
      assert.ok(!names.includes(absent), `${absent} installed: ${names.join(' ')}`);
    }
    const out = run(
      app,
      `import pg from 'pg';
       import { pgDatabase } from '@tsvirt/pgts/pg';
       const client = new pg.Client(${JSON.stringify(server.url)});
       await client.connect();
       const row = await pgDatabase(client).one('select $n::int + 1 as n, $?t::text as t', { n: 41 });
       await client.end();
       console.log(JSON.stringify(row));`,
    );
    assert.equal(out, '{"n":42,"t":null}');
  });

  void test('with PGlite: no typescript, no pg; a query runs', () => {
    const { app, names } = installApp(dir, tarball, '@electric-sql/pglite');
    for (const absent of ['typescript', 'pg', 'libpg-query', 'fast-glob']) {
      assert.ok(!names.includes(absent), `${absent} installed: ${names.join(' ')}`);
    }
    const out = run(
      app,
      `import { PGlite } from '@electric-sql/pglite';
       import { pgliteDatabase } from '@tsvirt/pgts/pglite';
       const lite = await PGlite.create();
       const row = await pgliteDatabase(lite).one('select $n::int + 1 as n', { n: 41 });
       await lite.close();
       console.log(JSON.stringify(row));`,
    );
    assert.equal(out, '{"n":42}');
  });
});
