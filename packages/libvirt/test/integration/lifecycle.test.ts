/**
 * The lifecycle of a real TCG guest through our client, each step checked with virsh: define,
 * autostart, start (with lifecycle events), console stream showing the guest's marker, info
 * and stats, reboot, destroy, undefine.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  type DomainRef,
  type LibvirtConnection,
  type LifecycleEvent,
  DomainEventType,
  DomainStatsTypes,
  LibvirtError,
  connect,
} from '../../src/index.js';
import { GUEST_MARKER, buildInitramfs, guestXml } from '../support/guest.js';
import { type TestNode, startTestNode } from '../support/node.js';

const NAME = 'tsvirt-lifecycle';
let node: TestNode;
let conn: LibvirtConnection;
let dom: DomainRef;
const events: LifecycleEvent[] = [];
let unsubscribe: () => Promise<void>;

function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

async function waitFor(
  what: string,
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  node = await startTestNode('lifecycle', '127.0.2.12');
  conn = await connect(node.sshUri, { ssh: { extraArgs: node.sshArgs } });
  unsubscribe = await conn.onDomainLifecycle((e) => events.push(e));
});
after(async () => {
  await conn?.close();
  await node?.stop();
});

void it('defineDomainXml: virsh sees the guest, shut off, with our XML', async () => {
  const initrd = await buildInitramfs(node.dir);
  dom = await conn.defineDomainXml(guestXml(NAME, initrd));
  assert.equal(dom.id, -1);
  assert.equal((await node.virsh('domstate', NAME)).trim(), 'shut off');
  assert.equal((await node.virsh('domuuid', NAME)).trim(), dom.uuid);
  assert.match(await conn.getDomainXml(dom), /<kernel>\/boot\/vmlinuz/);
  await waitFor('the DEFINED event', () =>
    events.some((e) => e.domain.name === NAME && e.event === DomainEventType.DEFINED),
  );
});

void it('autostart set and get agree with virsh dominfo', async () => {
  await conn.setDomainAutostart(dom, true);
  assert.equal(fields(await node.virsh('dominfo', NAME)).get('Autostart'), 'enable');
  assert.equal(await conn.getDomainAutostart(dom), true);
  await conn.setDomainAutostart(dom, false);
  assert.equal(fields(await node.virsh('dominfo', NAME)).get('Autostart'), 'disable');
  assert.equal(await conn.getDomainAutostart(dom), false);
});

void it('createDomain starts it: running for virsh, STARTED event, info and stats agree', async () => {
  await conn.createDomain(dom);
  assert.equal((await node.virsh('domstate', NAME)).trim(), 'running');
  await waitFor('the STARTED event', () =>
    events.some((e) => e.domain.name === NAME && e.event === DomainEventType.STARTED),
  );
  const running = await conn.lookupDomainByName(NAME);
  assert.equal(running.id, Number((await node.virsh('domid', NAME)).trim()));
  const info = await conn.getDomainInfo(running);
  const v = fields(await node.virsh('dominfo', NAME));
  assert.equal(info.state, 'running');
  assert.equal(info.vcpus, Number(v.get('CPU(s)')));
  assert.equal(info.maxMemoryBytes, BigInt(v.get('Max memory')!.replace(' KiB', '')) * 1024n);
  assert.deepEqual(await conn.getDomainState(running), { state: 'running', reason: 1 }); // reason: booted
  const stats = await conn.getAllDomainStats(
    DomainStatsTypes.STATE | DomainStatsTypes.VCPU | DomainStatsTypes.BALLOON,
  );
  const rec = stats.find((s) => s.domain.name === NAME);
  assert.equal(rec?.params.get('state.state'), 1);
  assert.equal(rec?.params.get('vcpu.current'), 1);
  assert.equal(rec?.params.get('balloon.maximum'), 128n * 1024n);
  const job = await conn.getJobInfo(running);
  assert.equal(job.type, 0); // no job
  assert.deepEqual(await conn.getDomainInterfaceAddresses(running, 'lease'), []); // no interfaces
});

void it('openConsole streams the guest serial console, where its marker appears', async () => {
  const stream = await conn.openConsole(dom);
  let seen = '';
  stream.on('data', (chunk: Buffer) => {
    seen += chunk.toString('latin1');
  });
  await waitFor(`${GUEST_MARKER} on the console`, () => seen.includes(GUEST_MARKER), 60000);
  await stream.abort();
});

void it('rebootDomain and shutdownDomain are accepted by qemu; destroyDomain stops it', async () => {
  await conn.rebootDomain(dom);
  await conn.shutdownDomain(dom); // busybox init ignores ACPI: the guest keeps running
  await conn.destroyDomain(dom);
  assert.equal((await node.virsh('domstate', NAME)).trim(), 'shut off');
  assert.equal((await conn.getDomainState(dom)).state, 'shut off');
  await waitFor('the STOPPED event', () =>
    events.some((e) => e.domain.name === NAME && e.event === DomainEventType.STOPPED),
  );
  await assert.rejects(
    conn.destroyDomain(dom),
    (e: unknown) => e instanceof LibvirtError && e.code === 55,
  ); // not running
});

void it('undefineDomain removes it; lookups then fail with VIR_ERR_NO_DOMAIN', async () => {
  await conn.undefineDomain(dom);
  assert.equal((await node.virsh('list', '--all', '--name')).includes(NAME), false);
  await assert.rejects(
    conn.lookupDomainByName(NAME),
    (e: unknown) => e instanceof LibvirtError && e.codeName === 'VIR_ERR_NO_DOMAIN',
  );
  await unsubscribe();
});
