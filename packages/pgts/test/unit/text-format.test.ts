import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArray, parseRecord } from '../../src/types/text-format.js';

void test('arrays: NULL, quoting, escapes, nesting, empty', () => {
  assert.deepEqual(parseArray('{1,2,NULL}', Number), [1, 2, null]);
  assert.deepEqual(parseArray('{"a b","x\\"y",NULL,"NULL"}', String), ['a b', 'x"y', null, 'NULL']);
  assert.deepEqual(parseArray('{{1,2},{3,4}}', Number), [
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(parseArray('{}', Number), []);
  assert.deepEqual(parseArray('[0:1]={5,6}', Number), [5, 6]);
});

void test('records: empty field is NULL, quoted fields keep commas and quotes', () => {
  assert.deepEqual(parseRecord('(1,"a, b",)'), ['1', 'a, b', null]);
  assert.deepEqual(parseRecord('("say ""hi""","",x)'), ['say "hi"', '', 'x']);
});
