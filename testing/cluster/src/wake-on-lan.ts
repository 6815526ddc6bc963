// Wake-on-LAN for the test cluster: a small listener process, started by `testcluster up`,
// that powers a node on when a magic packet for its MAC arrives at mclu.conf's wol_address,
// as a real machine's network card would. It runs in the host's namespace and is stopped
// (first) with the cluster: its command line carries the cluster's helper marker.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterError } from './errors.js';
import { helperMarker, isAlive } from './processes.js';

const CLI = fileURLToPath(new URL('./cli/main.js', import.meta.url));
export const LISTENING = 'listening for wake-on-LAN on';

export function wolLogFile(dir: string): string {
  return join(dir, 'wake-on-lan.log');
}

/** The MAC a magic packet wakes (6 bytes 0xff, then the MAC 16 times), or null. */
export function parseMagicPacket(packet: Buffer): string | null {
  for (
    let at = packet.indexOf(Buffer.alloc(6, 0xff));
    at >= 0 && at + 102 <= packet.length;
    at = packet.indexOf(Buffer.alloc(6, 0xff), at + 1)
  ) {
    const mac = packet.subarray(at + 6, at + 12);
    let repeated = true;
    for (let i = 1; i < 16 && repeated; i++)
      repeated = packet.subarray(at + 6 + 6 * i, at + 12 + 6 * i).equals(mac);
    if (repeated) return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
  }
  return null;
}

/** Starts the listener for the cluster in `dir` and waits until it listens. */
export async function startWakeOnLanListener(dir: string, wolAddress: string): Promise<number> {
  const log = wolLogFile(dir);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [CLI, 'wol-listener', helperMarker(dir)], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? 0;
  for (let i = 0; i < 200; i++) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (text.includes(LISTENING)) return pid;
    if (!isAlive(pid)) break;
    await sleep(25);
  }
  const text = existsSync(log) ? readFileSync(log, 'utf8').trim() : '';
  throw new ClusterError(
    'START_FAILED',
    `the wake-on-LAN listener for ${wolAddress} did not start${text ? `: ${text.split('\n').slice(-3).join(' ')}` : ''}; ` +
      'is something else listening there? start without wake-on-LAN or choose another --address-prefix',
  );
}
