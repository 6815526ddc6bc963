import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueDecoder, type RuntimeTypeInfo } from '../../src/runtime/decode.js';

// Types the runtime does not know by OID are asked for; here a fake catalog answers.
const CATALOG: RuntimeTypeInfo[] = [
  { oid: 90001, name: 'mood', kind: 'e', category: 'E', elem: 0, base: 0, fields: null },
  { oid: 90002, name: '_mood', kind: 'b', category: 'A', elem: 90001, base: 0, fields: null },
  { oid: 90003, name: 'email', kind: 'd', category: 'S', elem: 0, base: 25, fields: null },
  {
    oid: 90004,
    name: 'address',
    kind: 'c',
    category: 'C',
    elem: 0,
    base: 0,
    fields: [
      { name: 'street', typeOid: 25 },
      { name: 'number', typeOid: 23 },
    ],
  },
];

async function decoder(options = {}): Promise<ValueDecoder> {
  const asked: number[][] = [];
  const d = new ValueDecoder(options);
  await d.prepare([23, 90002, 90003, 90004], (oids) => {
    asked.push(oids);
    return Promise.resolve(CATALOG.filter((t) => oids.includes(t.oid)));
  });
  assert.deepEqual(asked, [[90002, 90003, 90004], [90001]]);
  return d;
}

void test('built-in scalars by OID', async () => {
  const d = await decoder();
  assert.equal(d.decoder(23)('-42'), -42);
  assert.equal(d.decoder(20)('9007199254740993'), '9007199254740993');
  assert.equal(d.decoder(1700)('12.50'), '12.50');
  assert.equal(d.decoder(16)('t'), true);
  assert.deepEqual([...(d.decoder(17)('\\x00ff') as Uint8Array)], [0, 255]);
  assert.equal(d.decoder(1082)('2024-02-29'), '2024-02-29');
  assert.deepEqual(d.decoder(3802)('{"a":[1]}'), { a: [1] });
});

void test('timestamps: offsets with minutes, timestamp as UTC, infinity', async () => {
  const d = await decoder();
  assert.equal(
    (d.decoder(1184)('2024-01-02 03:04:05.5+05:30') as Date).toISOString(),
    '2024-01-01T21:34:05.500Z',
  );
  assert.equal(
    (d.decoder(1184)('2024-01-02 03:04:05-08') as Date).toISOString(),
    '2024-01-02T11:04:05.000Z',
  );
  assert.equal(
    (d.decoder(1114)('2024-01-02 03:04:05') as Date).toISOString(),
    '2024-01-02T03:04:05.000Z',
  );
  assert.equal((d.decoder(1184)('infinity') as Date).getTime(), 8.64e15);
  assert.equal((d.decoder(1114)('-infinity') as Date).getTime(), -8.64e15);
});

void test('timestamps: microseconds, offsets with seconds, years before 100 and BC, past 9999', async () => {
  const d = await decoder();
  const iso = (text: string, oid = 1184): string => (d.decoder(oid)(text) as Date).toISOString();
  assert.equal(iso('2024-01-02 03:04:05.999999-09:30'), '2024-01-02T12:34:05.999Z');
  assert.equal(iso('1900-01-01 00:00:00+01:02:03'), '1899-12-31T22:57:57.000Z');
  assert.equal(iso('0099-01-02 03:04:05+00'), '0099-01-02T03:04:05.000Z');
  assert.equal(iso('0044-03-15 12:00:00+00 BC'), '-000043-03-15T12:00:00.000Z');
  assert.equal(iso('0001-01-01 00:00:00 BC', 1114), '0000-01-01T00:00:00.000Z');
  assert.equal(iso('12024-01-02 03:04:05+00'), '+012024-01-02T03:04:05.000Z');
});

void test('enums, arrays of enums, domains, composites', async () => {
  const d = await decoder();
  assert.equal(d.decoder(90001)('happy'), 'happy');
  assert.deepEqual(d.decoder(90002)('{sad,ok}'), ['sad', 'ok']);
  assert.equal(d.decoder(90003)('me@example.org'), 'me@example.org');
  assert.deepEqual(d.decoder(90004)('("Main St",5)'), { street: 'Main St', number: 5 });
  assert.deepEqual(d.decoder(90004)('(,)'), { street: null, number: null });
  assert.deepEqual(d.decoder(1007)('{1,NULL,3}'), [1, null, 3]);
});

void test('arrays (read by postgres-array): NULL, quoting, escapes, nesting, empty, bounds', async () => {
  const d = await decoder();
  assert.deepEqual(d.decoder(1009)('{"a b","x\\"y",NULL,"NULL"}'), ['a b', 'x"y', null, 'NULL']);
  assert.deepEqual(d.decoder(1007)('{{1,2},{3,4}}'), [
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(d.decoder(1007)('{}'), []);
  assert.deepEqual(d.decoder(1007)('[0:1]={5,6}'), [5, 6]);
});

void test('int8 and date options', async () => {
  const d = await decoder({ int8: 'bigint', date: 'Date' });
  assert.equal(d.decoder(20)('9007199254740993'), 9007199254740993n);
  assert.deepEqual(d.decoder(1016)('{1,2}'), [1n, 2n]);
  assert.equal((d.decoder(1082)('2024-02-29') as Date).toISOString(), '2024-02-29T00:00:00.000Z');
});
