import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecord } from '../../src/types/text-format.js';

void test('records: empty field is NULL, quoted fields keep commas and quotes', () => {
  assert.deepEqual(parseRecord('(1,"a, b",)'), ['1', 'a, b', null]);
  assert.deepEqual(parseRecord('("say ""hi""","",x)'), ['say "hi"', '', 'x']);
});
