import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlSyntaxError } from '../../src/errors.js';
import { rewritePlaceholders } from '../../src/sql/placeholders.js';

void test('named parameters become positional, a repeated name reuses its position', () => {
  const r = rewritePlaceholders('select * from t where a = $a and b = $?b or a > $a');
  assert.equal(r.text, 'select * from t where a = $1 and b = $2 or a > $1');
  assert.deepEqual(r.occurrences, [1, 2, 1]);
  assert.deepEqual(
    r.params.map((p) => [p.name, p.kind, p.index]),
    [
      ['a', 'required', 1],
      ['b', 'optional', 2],
    ],
  );
});

void test('IN ($@list) becomes = any($n) and NOT IN becomes <> all($n)', () => {
  const r = rewritePlaceholders('select 1 where id in ($@ids) and x not in ( $@xs )');
  assert.equal(r.text, 'select 1 where id = any($1) and x <> all($2)');
  assert.deepEqual(
    r.params.map((p) => p.kind),
    ['list', 'list'],
  );
});

void test('a list is rewritten only where it is one: never inside a string', () => {
  const r = rewritePlaceholders("select 'x in ($1)' as s where id in ($@ids)");
  assert.equal(r.text, "select 'x in ($1)' as s where id = any($1)");
  assert.equal(rewritePlaceholders('select $@ids::int[] as a').text, 'select $1::int[] as a');
});

void test("E'...' strings: a backslash-escaped quote does not end the string", () => {
  const sql = "select E'it\\'s $x', e'\\\\', 'a\\' as b, $y";
  const r = rewritePlaceholders(sql);
  assert.deepEqual(
    r.params.map((p) => p.name),
    ['y'],
  );
  assert.equal(r.text, sql.replace('$y', '$1'));
});

void test('strings, quoted identifiers, comments, casts and dollar quotes are left alone', () => {
  const sql = `select '$a', "$b", $$ $c $$, $t$ $d $t$, x::text -- $e\n /* $f */ from t where y = $y`;
  const r = rewritePlaceholders(sql);
  assert.equal(r.text, sql.replace('$y', '$1'));
  assert.deepEqual(
    r.params.map((p) => p.name),
    ['y'],
  );
});

void test('offsets in the rewritten SQL map back to the SQL as written', () => {
  const sql = 'select $long_name, nme from t where id in ($@ids) and zz';
  const r = rewritePlaceholders(sql);
  assert.equal(r.originalOffset(r.text.indexOf('nme')), sql.indexOf('nme'));
  assert.equal(r.originalOffset(r.text.indexOf('zz')), sql.indexOf('zz'));
});

void test('positional parameters and mixed kinds are refused with the offset', () => {
  assert.throws(
    () => rewritePlaceholders('select $1'),
    (e: unknown) => e instanceof SqlSyntaxError && e.offset === 7 && /name them/.test(e.message),
  );
  assert.throws(() => rewritePlaceholders('select $a, $?a'), SqlSyntaxError);
  assert.throws(() => rewritePlaceholders('select $ from t'), SqlSyntaxError);
});
