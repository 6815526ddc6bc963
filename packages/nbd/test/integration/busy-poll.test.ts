// Busy polling (src/server/busy-poll.ts) ends when the client goes quiet: after a burst of
// back-to-back reads (which grow the poll window: the maximum is raised to 1 ms, since this
// client in JavaScript takes longer to come back than the default 128 µs), an idle
// connection must leave the server asleep, not spinning. A server that kept polling would
// use about a second of CPU per second.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbdClient } from '../../src/client/client.js';
import { startTsnbd, tempDir } from '../helpers.js';

/** User and system CPU time of a process so far, in milliseconds (Linux's /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100
}

void describe('busy polling', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  void it('stops once the client goes quiet: an idle connection costs no CPU', async () => {
    const server = await startTsnbd(tmp.dir, ['--workers=1', '--busy-poll=1000', 'memory', '16M']);
    const client = await NbdClient.connect({ socket: server.socket });
    try {
      const buf = Buffer.alloc(4096);
      for (let i = 0; i < 3000; i++) await client.pread(buf, (i % 4096) * 4096);
      const before = cpuMs(server.child.pid!);
      await sleep(1000);
      const used = cpuMs(server.child.pid!) - before;
      assert.ok(used < 250, `the server used ${used} ms of CPU in the idle second after`);
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
