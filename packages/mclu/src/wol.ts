// Wake-on-LAN: the magic packet is 6 bytes of 0xFF followed by the target MAC 16 times,
// sent as one UDP datagram (broadcast by default).
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { NodeConfig } from './config.js';
import { messageOf, NodeError } from './errors.js';

export function magicPacket(mac: string): Buffer {
  const bytes = mac.split(/[:-]/).map((h) => parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new Error(`not a MAC address: ${mac}`);
  }
  const packet = Buffer.alloc(6 + 16 * 6, 0xff);
  for (let i = 0; i < 16; i++) Buffer.from(bytes).copy(packet, 6 + i * 6);
  return packet;
}

/** Sends the magic packet for `node` to its wol_address. */
export async function wakeNode(
  node: NodeConfig,
): Promise<{ mac: string; address: string; port: number }> {
  if (node.mac === null) {
    throw new NodeError(
      'NODE_COMMAND',
      node.name,
      `node ${node.name} has no mac in the configuration; add mac = "aa:bb:cc:dd:ee:ff" to [nodes.${node.name}]`,
    );
  }
  const { host, port } = node.wolAddress;
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.setBroadcast(true);
        socket.send(magicPacket(node.mac ?? ''), port, host, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    });
  } catch (error) {
    throw new NodeError(
      'NODE_COMMAND',
      node.name,
      `cannot send the wake-on-LAN packet for ${node.name} to ${host}:${port}: ${messageOf(error)}`,
    );
  } finally {
    socket.close();
  }
  return { mac: node.mac, address: host, port };
}
