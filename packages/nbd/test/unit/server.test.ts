// The server and client together in one process (Node only): out-of-order replies,
// block status, write zeroes flags, capability defaults.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { definePlugin, ExtentType, type ThreadModel } from '../../src/api.js';
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

void describe('thread models', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tsnbd-unit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A plugin whose reads take a while, counting how many run at once. */
  function counting(threadModel: ThreadModel) {
    const seen = { now: 0, most: 0 };
    const plugin = definePlugin<null>({
      name: 'counting',
      threadModel,
      open: () => null,
      getSize: () => 1 << 20,
      async pread(_h, buf) {
        seen.most = Math.max(seen.most, ++seen.now);
        await sleep(5);
        buf.fill(1);
        seen.now--;
      },
    });
    return { plugin, seen };
  }

  async function readsAtOnce(clients: NbdClient[], each: number): Promise<void> {
    await Promise.all(
      clients.flatMap((c) => Array.from({ length: each }, () => c.pread(Buffer.alloc(512), 0))),
    );
  }

  void it('parallel: requests overlap', async () => {
    const { plugin, seen } = counting('parallel');
    const [server, socket] = await serve(new Stack(plugin), dir);
    const c = await NbdClient.connect({ socket });
    await readsAtOnce([c], 8);
    assert.ok(seen.most > 1, `at most ${seen.most} at once`);
    await c.close();
    await server.close();
  });

  void it('serializeRequests: one request per connection at a time, connections overlap', async () => {
    const { plugin, seen } = counting('serializeRequests');
    const [server, socket] = await serve(new Stack(plugin), dir);
    const one = await NbdClient.connect({ socket });
    await readsAtOnce([one], 8);
    assert.equal(seen.most, 1);
    const two = await NbdClient.connect({ socket });
    await readsAtOnce([one, two], 8);
    assert.equal(seen.most, 2);
    await Promise.all([one.close(), two.close()]);
    await server.close();
  });

  void it('serializeAllRequests: one request at a time over every connection', async () => {
    const { plugin, seen } = counting('serializeAllRequests');
    const [server, socket] = await serve(new Stack(plugin), dir);
    const clients = await Promise.all([1, 2, 3].map(() => NbdClient.connect({ socket })));
    await readsAtOnce(clients, 4);
    assert.equal(seen.most, 1);
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  });

  void it('serializeConnections: a second client waits until the first has gone', async () => {
    const { plugin } = counting('serializeConnections');
    const [server, socket] = await serve(new Stack(plugin), dir);
    const first = await NbdClient.connect({ socket });
    let connected = false;
    const second = NbdClient.connect({ socket }).then((c) => {
      connected = true;
      return c;
    });
    await sleep(300);
    assert.equal(connected, false, 'the second handshake waited');
    await first.close();
    const c = await second;
    await readsAtOnce([c], 2);
    await c.close();
    await server.close();
  });

  void it('a stack takes the most restrictive model of its layers', () => {
    const { plugin } = counting('multiProcess');
    assert.equal(new Stack(plugin).threadModel, 'multiProcess');
    assert.equal(new Stack(plugin, [{ name: 'f' }]).threadModel, 'parallel');
    const serial = { name: 'g', threadModel: 'serializeRequests' as const };
    assert.equal(new Stack(plugin, [{ name: 'f' }, serial]).threadModel, 'serializeRequests');
  });
});
