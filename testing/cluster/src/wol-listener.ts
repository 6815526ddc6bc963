// The body of the wake-on-LAN listener process (see wake-on-lan.ts).
import { createSocket } from 'node:dgram';
import { basename } from 'node:path';
import { clusterHealth, openCluster } from './cluster.js';
import { ClusterError, messageOf } from './errors.js';
import { LISTENING, parseMagicPacket } from './wake-on-lan.js';

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);

/** Listens until killed; wakes one node at a time. */
export async function runWakeOnLanListener(dir: string): Promise<void> {
  const name = basename(dir);
  const first = openCluster(name);
  if (first === null) throw new ClusterError('NOT_RUNNING', `no cluster recorded in ${dir}`);
  const [host = '', port = '9'] = first.wolAddress.split(':');
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  let queue = Promise.resolve();
  socket.on('message', (packet, from) => {
    const mac = parseMagicPacket(packet);
    if (mac === null) return;
    queue = queue.then(async () => {
      const cluster = openCluster(name);
      const health = cluster === null ? [] : clusterHealth(cluster);
      const target = health.find((h) => h.node.macAddress === mac);
      if (cluster === null || target === undefined)
        return log(`magic packet from ${from.address} for unknown MAC ${mac}`);
      if (target.libvirtd && target.sshd)
        return log(`magic packet for ${target.node.name}: already on`);
      log(`magic packet for ${target.node.name} (${mac}): powering on`);
      try {
        await cluster.powerOn(target.node);
        log(`${target.node.name} is on`);
      } catch (error) {
        log(`${target.node.name} failed to power on: ${messageOf(error)}`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(Number(port), host, () => resolve());
  });
  log(`${LISTENING} ${host}:${port}`);
}
