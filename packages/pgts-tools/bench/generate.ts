// `pgts generate` against pgtyped (@pgtyped/cli) on the same schema and the same 500
// queries: pgts with embedded PGlite and with a PostgreSQL 15 server, pgtyped with the
// server (it needs one). Each tool runs as its own command line, as a user runs it.
// Run by hand: node packages/pgts-tools/dist/bench/generate.js
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '@tsvirt/testpostgres';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REPO_MODULES = resolve(PACKAGE, '../../node_modules');
const TABLES = 20;
const PER_TABLE = 25; // 500 queries
const FILES = 10;

function schema(): string {
  const out: string[] = [];
  for (let t = 0; t < TABLES; t++) {
    out.push(`create table t${t} (
  id serial primary key, name text not null, note text, n int not null default 0,
  created timestamptz not null default now()${t > 0 ? `, parent int references t${t - 1}` : ''}
);`);
  }
  return out.join('\n');
}

/** 500 distinct queries with $name parameters (pgts syntax). */
function queries(): string[] {
  const out: string[] = [];
  for (let t = 0; t < TABLES; t++) {
    const other = t === 0 ? 0 : t - 1;
    const join = t === 0 ? `t0 b on b.id = a.id` : `t${other} b on b.id = a.parent`;
    for (let k = 0; k < PER_TABLE / 5; k++) {
      out.push(`select id, name, note, created from t${t} where id = $id and n <> ${k}`);
      out.push(
        `select a.id, a.name, b.name as other from t${t} a left join ${join} where a.n > $n limit ${k + 1}`,
      );
      out.push(
        `insert into t${t} (name, note, n) values ($name, $note, $n) returning id, ${k} as k`,
      );
      out.push(`update t${t} set note = $note where id = $id and n >= ${k}`);
      out.push(
        `select count(*) as c, max(name) as top from t${t} where name like $pattern and n <> ${k}`,
      );
    }
  }
  return out;
}

function time(label: string, run: () => { status: number | null; stderr: string }): number {
  const start = process.hrtime.bigint();
  const r = run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  console.log(`${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'pgts-bench-'));
const server = startPostgres({ tcp: true });
try {
  const sqls = queries();
  writeFileSync(join(dir, 'schema.sql'), schema());
  symlinkSync(REPO_MODULES, join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'sql'));
  for (let f = 0; f < FILES; f++) {
    const mine = sqls.slice((f * sqls.length) / FILES, ((f + 1) * sqls.length) / FILES);
    writeFileSync(
      join(dir, 'src', `q${f}.ts`),
      "import type { Database } from '@tsvirt/pgts';\n" +
        mine
          .map(
            (q, k) =>
              `export const q${k} = (db: Database) => db.query(${JSON.stringify(q)}, {} as never);\n`,
          )
          .join(''),
    );
    writeFileSync(
      join(dir, 'sql', `q${f}.sql`),
      mine.map((q, k) => `/* @name q${k} */\n${q.replace(/\$(\w+)/g, ':$1')};\n`).join('\n'),
    );
  }
  const apply = spawnSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', join(dir, 'schema.sql')], {
    encoding: 'utf8',
    env: { ...process.env, ...server.env },
  });
  if (apply.status !== 0) throw new Error(apply.stderr);

  const cli = join(PACKAGE, 'dist/src/cli/main.js');
  const config = (extra: object): string => {
    const path = join(dir, `pgts-${Object.keys(extra)[0]}.json`);
    writeFileSync(
      path,
      JSON.stringify({ sources: ['src/**/*.ts'], output: 'src/pgts.generated.d.ts', ...extra }),
    );
    return path;
  };
  const pgtypedConfig = join(dir, 'pgtyped.json');
  writeFileSync(
    pgtypedConfig,
    JSON.stringify({
      transforms: [
        { mode: 'sql', include: '**/*.sql', emitTemplate: '{{dir}}/{{name}}.queries.ts' },
      ],
      srcDir: './sql/',
      failOnError: true,
      db: { dbName: 'postgres', user: 'postgres', host: '127.0.0.1', port: server.port },
    }),
  );
  const run =
    (args: string[], env: NodeJS.ProcessEnv = {}) =>
    () =>
      spawnSync(process.execPath, args, {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });

  console.log(
    `${sqls.length} queries over ${TABLES} tables, ${FILES} files; PostgreSQL 15 on 127.0.0.1:${server.port}`,
  );
  const lite = time(
    'pgts generate (embedded PGlite)',
    run([cli, 'generate', '--config', config({ schema: 'schema.sql' })]),
  );
  const pgtsServer = time(
    'pgts generate (PostgreSQL 15)',
    run([cli, 'generate', '--config', config({ database: 'env' })], server.env),
  );
  const pgtyped = time(
    'pgtyped (PostgreSQL 15)',
    run([join(REPO_MODULES, '@pgtyped/cli/lib/index.js'), '-c', pgtypedConfig]),
  );
  console.log(`ratio pgts(PGlite)/pgtyped:  ${(lite / pgtyped).toFixed(2)}`);
  console.log(`ratio pgts(server)/pgtyped:  ${(pgtsServer / pgtyped).toFixed(2)}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
