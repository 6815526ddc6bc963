import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlanNullability, type PlanNode } from '../../src/infer/plan-nullability.js';

// Plans shaped as PostgreSQL prints them; the real planner is exercised by the integration tests.
const notNull = {
  isNotNull: (_schema: string, relation: string, column: string): boolean =>
    !(relation === 'contacts' && column === 'subject'),
};

function scan(alias: string, relation: string, relationship?: string): PlanNode {
  return {
    'Node Type': 'Seq Scan',
    'Relation Name': relation,
    Schema: 'public',
    Alias: alias,
    ...(relationship === undefined ? {} : { 'Parent Relationship': relationship }),
  };
}

function nullable(
  output: string[],
  children: PlanNode[] = [scan('h', 'hosts')],
  join?: string,
): boolean[] {
  const root: PlanNode = {
    'Node Type': 'Nested Loop',
    ...(join === undefined ? {} : { 'Join Type': join }),
    Output: output,
    Plans: children,
  };
  return new PlanNullability(root, notNull, new Set([2])).columns(output.length);
}

void test('a NOT NULL column on the inner side of a LEFT join is nullable, the outer side is not', () => {
  const children = [scan('c', 'contacts', 'Outer'), scan('h', 'hosts', 'Inner')];
  assert.deepEqual(nullable(['c.id', 'h.name', 'c.subject'], children, 'Left'), [
    false,
    true,
    true,
  ]);
  assert.deepEqual(nullable(['c.id', 'h.name'], children, 'Right'), [true, false]);
  assert.deepEqual(nullable(['c.id', 'h.name'], children, 'Full'), [true, true]);
  assert.deepEqual(nullable(['c.id', 'h.name'], children, 'Inner'), [false, false]);
});

void test('expressions: literals, count, COALESCE, operators, CASE, casts, IS NULL', () => {
  assert.deepEqual(
    nullable([
      "'x'::text",
      '42',
      'count(*)',
      'sum(h.id)',
      "COALESCE(h.missing, 'x'::text)",
      '(h.id + 1)',
      "CASE WHEN (h.id > 1) THEN 'a'::text ELSE 'b'::text END",
      "CASE WHEN (h.id > 1) THEN 'a'::text END",
      '(h.name)::character varying(20)',
      '(h.missing IS NULL)',
      'NULL::text',
      'lower(h.name)',
      'some_function(h.name)',
    ]),
    [false, false, false, true, false, false, false, true, false, false, true, false, true],
  );
});

void test('parameters are non-null unless optional; unknown aliases are nullable', () => {
  assert.deepEqual(nullable(['$1', '$2', 'zz.col']), [false, true, true]);
});

void test('an unqualified column resolves to the only relation scanned', () => {
  assert.deepEqual(nullable(['name', 'subject'], [scan('contacts', 'contacts')]), [false, true]);
});

void test('set operations need every member to agree', () => {
  const root: PlanNode = {
    'Node Type': 'Append',
    Plans: [
      { ...scan('h', 'hosts', 'Member'), Output: ['h.name'] },
      { ...scan('c', 'contacts', 'Member'), Output: ['c.subject'] },
    ],
  };
  assert.deepEqual(new PlanNullability(root, notNull, new Set()).columns(1), [true]);
});
