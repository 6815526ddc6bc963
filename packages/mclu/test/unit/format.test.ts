import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus, statusJson } from '../../src/cli/format.js';
import { formatSize, memoryProblem, parseSize } from '../../src/size.js';
import type { NodeStatus } from '../../src/status.js';

const G = 2 ** 30;
const on = (
  name: string,
  pcpus: number,
  total: number,
  used: [number, number, number],
  free: number,
): NodeStatus => ({
  name,
  state: 'on',
  pcpus,
  memoryBytes: BigInt(Math.round(total * G)),
  usedVcpus: used[0],
  usedMemoryBytes: BigInt(Math.round(used[1] * G)),
  guests: used[2],
  freeMemoryBytes: BigInt(Math.round(free * G)),
});

void test('status is laid out exactly like the original', () => {
  const text = formatStatus([
    on('ham0', 8, 15.2, [8, 8, 2], 6.2),
    on('ham1', 8, 15.2, [0, 0, 0], 14.2),
    on('ham2', 8, 30.9, [0, 0, 0], 29.9),
    {
      name: 'ham3',
      state: 'off',
      pcpus: null,
      memoryBytes: null,
      usedVcpus: null,
      usedMemoryBytes: null,
      guests: null,
      freeMemoryBytes: null,
    },
  ]);
  // From the seed's "Mini Cloud/Cluster v2.0" post.
  assert.equal(
    text,
    `ham0                     on
                           total: 8pcpus 15.2G
                            used: 8vcpus 8.0G by 2 guest(s)
                            free: 6.2G
ham1                     on
                           total: 8pcpus 15.2G
                            free: 14.2G
ham2                     on
                           total: 8pcpus 30.9G
                            free: 29.9G
ham3                     off
`,
  );
});

void test('an unreachable node shows its reason, in text and JSON', () => {
  const off: NodeStatus = {
    name: 'n',
    state: 'off',
    error: 'ssh: connect to host 127.0.3.14 port 22: Connection refused',
    pcpus: null,
    memoryBytes: null,
    usedVcpus: null,
    usedMemoryBytes: null,
    guests: null,
    freeMemoryBytes: null,
  };
  assert.equal(
    formatStatus([off]),
    'n                        off\n                          reason: ssh: connect to host 127.0.3.14 port 22: Connection refused\n',
  );
  assert.deepEqual(statusJson([off]), {
    nodes: [
      {
        name: 'n',
        state: 'off',
        error: off.error,
        pcpus: null,
        memory_bytes: null,
        used_vcpus: null,
        used_memory_bytes: null,
        guests: null,
        free_memory_bytes: null,
      },
    ],
  });
});

void test('sizes parse and format as people write them', () => {
  assert.equal(parseSize('256M'), 256n << 20n);
  assert.equal(parseSize('2G'), 2n << 30n);
  assert.equal(parseSize('20g'), 20n << 30n);
  assert.equal(parseSize('4096'), 4096n);
  assert.equal(parseSize('3T'), 3n << 40n);
  // Only the documented forms: no fractions, hex, exponents, signs or other units.
  for (const bad of [
    '1.5G',
    '1.5K',
    '0x2',
    '0x10M',
    '1e3',
    '-1G',
    '+2G',
    '2GiB',
    '2GB',
    '2 G',
    'lots',
    '0',
    '0M',
    '',
  ])
    assert.equal(parseSize(bad), null, bad);
  assert.equal(memoryProblem(1536n), 'a guest needs at least 1M of memory');
  assert.equal(memoryProblem((1n << 20n) + 1n), 'memory is counted in whole KiB (use K, M or G)');
  assert.equal(memoryProblem(128n << 20n), null);
  assert.equal(formatSize(8n << 30n), '8.0G');
  assert.equal(formatSize(64n << 20n), '64.0M');
});
