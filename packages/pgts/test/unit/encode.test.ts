import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeParameter } from '../../src/runtime/encode.js';

void test('scalars, bytes, dates and NULL as PostgreSQL text input', () => {
  assert.equal(encodeParameter(null, 23), null);
  assert.equal(encodeParameter(undefined, 23), null);
  assert.equal(encodeParameter(42, 23), '42');
  assert.equal(encodeParameter(9007199254740993n, 20), '9007199254740993');
  assert.equal(encodeParameter(false, 16), 'f');
  assert.equal(encodeParameter(new Uint8Array([0, 255]), 17), '\\x00ff');
  assert.equal(encodeParameter(new Date('2024-01-02T03:04:05Z'), 1184), '2024-01-02T03:04:05.000Z');
});

void test('arrays quote every element; JSON parameters are JSON even when arrays', () => {
  assert.equal(encodeParameter([1, null, 3], 1007), '{"1",NULL,"3"}');
  assert.equal(encodeParameter(['a,b', 'c"d', 'e\\f'], 1009), '{"a,b","c\\"d","e\\\\f"}');
  assert.equal(encodeParameter([[1], [2]], 1007), '{{"1"},{"2"}}');
  assert.equal(encodeParameter([1, { a: 'b' }], 3802), '[1,{"a":"b"}]');
  assert.equal(encodeParameter('{"raw":true}', 114), '{"raw":true}');
  assert.equal(encodeParameter({ a: 1 }, undefined), '{"a":1}');
});
