import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMagicPacket } from '../../src/wake-on-lan.js';

const magic = (mac: number[]): Buffer =>
  Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => Buffer.from(mac))]);

void test('a magic packet gives the MAC it wakes, even inside a larger payload', () => {
  const mac = [0x02, 0x00, 0x7f, 0x00, 0x01, 0x0b];
  assert.equal(parseMagicPacket(magic(mac)), '02:00:7f:00:01:0b');
  assert.equal(
    parseMagicPacket(Buffer.concat([Buffer.from('junk'), magic(mac), Buffer.alloc(6)])),
    '02:00:7f:00:01:0b',
  );
});

void test('anything else is not a magic packet', () => {
  assert.equal(parseMagicPacket(Buffer.alloc(0)), null);
  assert.equal(parseMagicPacket(Buffer.alloc(102, 0xff).subarray(0, 101)), null);
  const broken = magic([1, 2, 3, 4, 5, 6]);
  broken[50] = 0;
  assert.equal(parseMagicPacket(broken), null);
});
