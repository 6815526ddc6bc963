import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

void test('defaults and paths relative to the config file', () => {
  const c = parseConfig({ schema: 'db/schema.sql' }, '/p', 'pgts.config.json');
  assert.deepEqual(c.schema, { kind: 'schema', file: '/p/db/schema.sql' });
  assert.equal(c.output, '/p/src/pgts.generated.d.ts');
  assert.deepEqual(c.sources, ['src/**/*.ts']);
  assert.equal(c.types.int8, 'string');
});

void test('database "env" means DATABASE_URL / PG* variables', () => {
  const c = parseConfig({ database: 'env' }, '/p', 'x');
  assert.deepEqual(c.schema, { kind: 'database', url: undefined });
});

void test('clear errors: no schema source, two sources, unknown key, bad value', () => {
  assert.throws(() => parseConfig({}, '/p', 'x'), /exactly one of "schema"/);
  assert.throws(() => parseConfig({ schema: 'a', migrations: 'b' }, '/p', 'x'), ConfigError);
  assert.throws(() => parseConfig({ schema: 'a', sorces: [] }, '/p', 'x'), /unknown key "sorces"/);
  assert.throws(
    () => parseConfig({ schema: 'a', int8: 'long' }, '/p', 'x'),
    /"int8" must be one of/,
  );
});
