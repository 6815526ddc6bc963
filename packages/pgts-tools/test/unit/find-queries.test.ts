import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';
import { findQueries } from '../../src/codegen/find-queries.js';

// An in-memory program: a stand-in for pgts's declarations and a source that uses them.
const FILES: Record<string, string> = {
  '/virtual/pgts.d.ts':
    'export interface Queryable { query(sql: string, params?: object): Promise<unknown[]> }\n' +
    'export interface Other { query(sql: string): Promise<unknown[]> }\n',
  '/virtual/app.ts': [
    "import type { Queryable, Other } from './pgts';",
    'declare const db: Queryable;',
    'declare const other: Other;',
    "const named = 'select 1 from t where\\tid = $id';",
    'void db.query(named, { id: 1 });',
    'void db.query(`select 2',
    '  from t`);',
    "void db.query('tab\\there \\u00e9 x');",
    "void other.query('not ours');",
    'let computed = "select 3"; computed += "";',
    'void db.query(computed);',
  ].join('\n'),
};

function program(): ts.Program {
  const options: ts.CompilerOptions = { strict: true, noLib: true, types: [] };
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (name, version) =>
    FILES[name] === undefined ? undefined : ts.createSourceFile(name, FILES[name], version);
  host.fileExists = (name) => FILES[name] !== undefined;
  host.readFile = (name) => FILES[name];
  host.directoryExists = () => true;
  host.realpath = (path) => path;
  return ts.createProgram({ rootNames: ['/virtual/app.ts'], options, host });
}

void test('finds calls on pgts receivers only, follows consts, reports computed SQL', () => {
  const { queries, problems } = findQueries(program(), new Set(['/virtual/app.ts']));
  assert.deepEqual(
    queries.map((q) => q.sql),
    ['select 1 from t where\tid = $id', 'select 2\n  from t', 'tab\there \u00e9 x'],
  );
  assert.equal(problems.length, 1);
  assert.deepEqual([problems[0]?.line, problems[0]?.column], [11, 15]);
  assert.match(problems[0]?.message ?? '', /string literal/);
});

void test('offsets in the SQL map to source line:col across escapes and newlines', () => {
  const [named, multi, escaped] = findQueries(program(), new Set(['/virtual/app.ts'])).queries;
  // `id` after the \t escape in the const on line 4.
  assert.deepEqual(named?.locate('select 1 from t where\t'.length), { line: 4, column: 39 });
  assert.deepEqual(multi?.locate('select 2\n  '.length), { line: 7, column: 3 });
  // `x` after a \t and a \u00e9 escape on line 8.
  assert.deepEqual(escaped?.locate('tab\there \u00e9 '.length), { line: 8, column: 33 });
});
