// On a big-endian host (s390x) the WebAssembly builds of PGlite and libpg_query read their
// memory in the wrong byte order. pgts refuses embedded PGlite there, before loading it,
// with the way out, and does without the parser. The byte order is injected here; the last
// test takes the real host's, so that run on s390x it checks the refusal for real.
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { test } from 'node:test';
import { openPgliteSchemaConnection } from '../../src/describe/pglite-connection.js';
import { SchemaError } from '../../src/errors.js';
import { parserRunsHere } from '../../src/sql/parser.js';

void test('embedded PGlite is refused on a big-endian host, pointing to DATABASE_URL', async () => {
  await assert.rejects(openPgliteSchemaConnection('BE'), (e: unknown) => {
    assert.ok(e instanceof SchemaError);
    assert.match(e.message, /does not run on a big-endian host/);
    assert.match(e.message, /"database": "env"/);
    assert.match(e.message, /DATABASE_URL/);
    return true;
  });
});

void test('the parser is used only where it runs: little-endian hosts', () => {
  assert.equal(parserRunsHere('LE'), true);
  assert.equal(parserRunsHere('BE'), false);
  assert.equal(parserRunsHere(), endianness() === 'LE');
});

void test('on this host, embedded PGlite opens or is refused according to its byte order', async () => {
  if (endianness() === 'LE') {
    const db = await openPgliteSchemaConnection();
    await db.close();
  } else {
    await assert.rejects(openPgliteSchemaConnection(), SchemaError);
  }
});
