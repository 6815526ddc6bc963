// The sample project in test/fixtures/app, end to end: `pgts check` finds its committed
// declarations up to date, tsc accepts the correct program and rejects each wrong one with
// the expected error; `pgts generate` writes the file, reports invalid SQL as file:line:col
// with PostgreSQL's message, and works against a PostgreSQL 15 server too.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
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
import ts from 'typescript';
import { startPostgres, type TestServer } from '@tsvirt/testpostgres';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const APP = join(PACKAGE, 'test/fixtures/app');
const CLI = join(PACKAGE, 'dist/src/cli/main.js');
const REPO_MODULES = resolve(PACKAGE, '../../node_modules');

function pgts(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function compile(rootNames: string[]): ts.Diagnostic[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(APP, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(parsed);
  return [...ts.getPreEmitDiagnostics(ts.createProgram({ rootNames, options: parsed.options }))];
}

const text = (d: ts.Diagnostic): string =>
  `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;

/** A copy of the sample project in a temporary directory, resolving @tsvirt/pgts from the repo. */
function copyApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgts-app-'));
  cpSync(APP, dir, { recursive: true });
  symlinkSync(REPO_MODULES, join(dir, 'node_modules'));
  return dir;
}

void describe('sample project', () => {
  void test('pgts check: the committed declarations are up to date (embedded PGlite)', () => {
    const r = pgts(APP, ['check']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /10 queries described against PGlite.*; .* is up to date/);
  });

  void test('tsc accepts the correct program', () => {
    const diagnostics = compile([join(APP, 'src/app.ts'), join(APP, 'src/pgts.generated.d.ts')]);
    assert.deepEqual(diagnostics.map(text), []);
  });

  const WRONG: Array<[string, RegExp]> = [
    ['wrong-param-type.ts', /TS2322: Type 'string' is not assignable to type 'number'/],
    ['missing-param.ts', /TS2345: .*Property 'name' is missing/],
    [
      'misspelled-column.ts',
      /TS2551: Property 'subjet' does not exist .* Did you mean 'subject'\?/,
    ],
    ['nullable-as-non-null.ts', /TS18047: 'r.host' is possibly 'null'/],
    [
      'ungenerated-query.ts',
      /TS2345: Argument of type '"select id from hosts where name = \$name"' is not assignable to parameter of type 'QueryText'/,
    ],
    [
      'computed-sql.ts',
      /TS2345: Argument of type 'string' is not assignable to parameter of type 'QueryText'/,
    ],
  ];
  for (const [file, expected] of WRONG) {
    void test(`tsc rejects wrong/${file}`, () => {
      const diagnostics = compile([join(APP, 'wrong', file), join(APP, 'src/pgts.generated.d.ts')]);
      assert.equal(diagnostics.length, 1, diagnostics.map(text).join('\n'));
      assert.match(text(diagnostics[0] as ts.Diagnostic), expected);
    });
  }

  void test('pgts generate writes the declarations; check then passes', () => {
    const dir = copyApp();
    try {
      rmSync(join(dir, 'src/pgts.generated.d.ts'));
      assert.equal(pgts(dir, ['check']).code, 1);
      const r = pgts(dir, ['generate']);
      assert.equal(r.code, 0, r.err);
      assert.equal(
        readFileSync(join(dir, 'src/pgts.generated.d.ts'), 'utf8'),
        readFileSync(join(APP, 'src/pgts.generated.d.ts'), 'utf8'),
      );
      assert.equal(pgts(dir, ['check']).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('invalid SQL: file:line:col of the error in the source and PostgreSQL message, exit 1', () => {
    const dir = copyApp();
    try {
      writeFileSync(
        join(dir, 'src/broken.ts'),
        [
          "import type { Database } from '@tsvirt/pgts';",
          'export async function f(db: Database): Promise<unknown> {',
          "  return db.query('select id, nmae from hosts where id = $id', { id: 1 });",
          '}',
          'export async function g(db: Database): Promise<unknown> {',
          '  return db.query(`select id',
          '    from hostz`);',
          '}',
          '',
        ].join('\n'),
      );
      const before = readFileSync(join(dir, 'src/pgts.generated.d.ts'), 'utf8');
      const r = pgts(dir, ['generate']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^src\/broken\.ts:3:31: error: column "nmae" does not exist/m);
      assert.match(r.err, /^src\/broken\.ts:7:10: error: relation "hostz" does not exist/m);
      // Nothing is lost: the previous declarations stay.
      assert.equal(readFileSync(join(dir, 'src/pgts.generated.d.ts'), 'utf8'), before);
      assert.equal(pgts(dir, ['check']).code, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('migrations: a directory of .sql files applied in natural order; a schema error has file:line:col', () => {
    const dir = copyApp();
    try {
      const schema = readFileSync(join(dir, 'schema.sql'), 'utf8');
      const [types = '', tables = ''] = schema.split('create table hosts');
      mkdirSync(join(dir, 'migrations'));
      writeFileSync(join(dir, 'migrations', '2_types.sql'), types);
      writeFileSync(join(dir, 'migrations', '10_tables.sql'), `create table hosts${tables}`);
      rmSync(join(dir, 'schema.sql'));
      writeFileSync(join(dir, 'pgts.config.json'), JSON.stringify({ migrations: 'migrations' }));
      const ok = pgts(dir, ['check']);
      assert.equal(ok.code, 0, ok.err);
      writeFileSync(
        join(dir, 'migrations', '11_broken.sql'),
        'create table x (\n  id int,\n  y nosuchtype\n);\n',
      );
      const broken = pgts(dir, ['check']);
      assert.equal(broken.code, 1);
      assert.match(
        broken.err,
        /migrations\/11_broken\.sql:3:5: applying the schema failed: type "nosuchtype" does not exist/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('pgts watch regenerates when a source changes and stops on SIGINT', async () => {
    const dir = copyApp();
    const child = spawn(process.execPath, [CLI, 'watch'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const waitFor = async (pattern: RegExp): Promise<void> => {
      for (let i = 0; i < 600 && !pattern.test(output); i++) await sleep(100);
      assert.match(output, pattern);
    };
    try {
      await waitFor(/10 queries described against .*; .* unchanged/);
      writeFileSync(
        join(dir, 'src/extra.ts'),
        "import type { Database } from '@tsvirt/pgts';\n" +
          "export const f = (db: Database) => db.query('select 42 as answer');\n",
      );
      await waitFor(/11 queries described against .*; wrote /);
      assert.match(
        readFileSync(join(dir, 'src/pgts.generated.d.ts'), 'utf8'),
        /"select 42 as answer": \{/,
      );
    } finally {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('a bad config is a clear error, exit 1, no stack trace', () => {
    const dir = copyApp();
    try {
      writeFileSync(join(dir, 'pgts.config.json'), '{"schema": "schema.sql", "sorces": []}');
      const r = pgts(dir, ['generate']);
      assert.equal(r.code, 1);
      assert.match(r.err, /unknown key "sorces"/);
      assert.doesNotMatch(r.err, /\n\s+at /);
      assert.equal(pgts(dir, ['frobnicate']).code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('sample project against a PostgreSQL 15 server', () => {
  let server: TestServer;
  before(() => {
    server = startPostgres();
  });
  after(async () => server.stop());

  void test('pgts check with "database": "env" gives the same declarations', () => {
    const dir = copyApp();
    try {
      const schema = readFileSync(join(dir, 'schema.sql'), 'utf8');
      const apply = spawnSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-c', schema], {
        encoding: 'utf8',
        env: { ...process.env, ...server.env },
      });
      assert.equal(apply.status, 0, apply.stderr);
      writeFileSync(
        join(dir, 'pgts.config.json'),
        JSON.stringify({
          sources: ['src/**/*.ts'],
          output: 'src/pgts.generated.d.ts',
          database: 'env',
        }),
      );
      const r = pgts(dir, ['check'], server.env);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /10 queries described against PostgreSQL.*; .* is up to date/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
