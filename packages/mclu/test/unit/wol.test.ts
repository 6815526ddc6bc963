import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { parseConfig } from '../../src/config.js';
import { magicPacket, wakeNode } from '../../src/wol.js';

void test('the magic packet is 6 x 0xff then the MAC 16 times', () => {
  const packet = magicPacket('74:d4:35:51:ab:86');
  assert.equal(packet.length, 102);
  assert.deepEqual([...packet.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  for (let i = 0; i < 16; i++)
    assert.equal(packet.subarray(6 + 6 * i, 12 + 6 * i).toString('hex'), '74d43551ab86');
});

void test('wakeNode sends it to the configured address', async () => {
  const listener = createSocket('udp4');
  listener.bind(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address();
  const config = parseConfig(
    `[nodes.n1]\nhost = "n1"\nmac = "02:00:00:00:00:01"\nwol_address = "127.0.0.1:${port}"\n`,
    '/t/mclu.conf',
  );
  const received = once(listener, 'message') as Promise<[Buffer]>;
  const node = config.nodes[0];
  assert.ok(node);
  await wakeNode(node);
  const [message] = await received;
  listener.close();
  assert.deepEqual(message, magicPacket('02:00:00:00:00:01'));
});
