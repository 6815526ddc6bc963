// The server and client together in one process (Node only): out-of-order replies,
// block status, write zeroes flags, capability defaults.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { definePlugin, ExtentType } from '../../src/api.js';
import { NbdClient } from '../../src/client/client.js';
import { NbdError } from '../../src/errors.js';
import { createMemoryPlugin } from '../../src/plugins/memory.js';
import { TFlag } from '../../src/protocol/constants.js';
import { NbdServer } from '../../src/server/server.js';
import { Stack } from '../../src/server/stack.js';

const options = {
  readonly: false,
  tls: 'off' as const,
  requestTimeoutMs: 0,
  handshakeTimeoutMs: 5000,
  maxPayload: 32 << 20,
};

async function serve(stack: Stack, dir: string): Promise<[NbdServer, string]> {
  await stack.configComplete();
  const server = new NbdServer({ ...options, stack });
  const socket = join(dir, `s${Math.random()}`);
  await server.listen({ kind: 'unix', path: socket });
  return [server, socket];
}

void describe('server and client in one process', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tsnbd-unit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('answers requests out of order as each finishes', async () => {
    const order: number[] = [];
    const slow = definePlugin<null>({
      name: 'slow',
      open: () => null,
      getSize: () => 1 << 20,
      async pread(_h, buf, offset) {
        await sleep(offset === 0 ? 100 : 1);
        buf.fill(offset >> 12);
        order.push(offset);
      },
    });
    const [server, socket] = await serve(new Stack(slow), dir);
    const c = await NbdClient.connect({ socket });
    const first = Buffer.alloc(512);
    const second = Buffer.alloc(512);
    const done: string[] = [];
    await Promise.all([
      c.pread(first, 0).then(() => done.push('first')),
      c.pread(second, 4096).then(() => done.push('second')),
    ]);
    assert.deepEqual(done, ['second', 'first']);
    assert.equal(second[0], 1);
    assert.ok(c.readonly, 'no pwrite: read-only');
    await c.close();
    await server.close();
  });

  void it('memory: block status, REQ_ONE, zeroes with and without NO_HOLE, FAST_ZERO', async () => {
    const plugin = createMemoryPlugin();
    const stack = new Stack(plugin);
    await stack.config('size', '1M');
    const [server, socket] = await serve(stack, dir);
    const c = await NbdClient.connect({ socket });
    assert.ok(c.details.flags & TFlag.SEND_FAST_ZERO);
    assert.ok(c.canMultiConn);
    await c.pwrite(Buffer.alloc(65536, 1), 65536);
    assert.deepEqual(await c.blockStatus(1 << 20, 0), [
      { offset: 0, length: 65536, type: ExtentType.HOLE_ZERO },
      { offset: 65536, length: 65536, type: ExtentType.DATA },
      { offset: 131072, length: (1 << 20) - 131072, type: ExtentType.HOLE_ZERO },
    ]);
    assert.equal((await c.blockStatus(1 << 20, 0, true)).length, 1);
    await c.zero(32768, 65536, { noHole: true, fast: true });
    const back = Buffer.alloc(65536);
    await c.pread(back, 65536);
    assert.ok(back.subarray(0, 32768).every((b) => b === 0));
    assert.ok(back.subarray(32768).every((b) => b === 1));
    await assert.rejects(
      c.pread(Buffer.alloc(1), 1 << 20),
      (e: unknown) => e instanceof NbdError && e.code === 'EINVAL',
    );
    await c.close();
    await server.close();
  });
});
