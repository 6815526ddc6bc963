/**
 * Each call of the typed API checked against what virsh reports for the same thing, on a real
 * libvirtd, over the unix socket and over ssh; and through the daemon's test driver.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type LibvirtConnection,
  DomainStatsTypes,
  LibvirtError,
  connect,
} from '../../src/index.js';
import { type TestNode, startTestNode } from '../support/node.js';

const run = promisify(execFile);

/** `Key:   value` lines of virsh output as a map. */
function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

let node: TestNode;
before(async () => {
  node = await startTestNode('api', '127.0.2.11');
});
after(async () => {
  await node?.stop();
});

for (const transport of ['unix', 'ssh'] as const) {
  void describe(`qemu driver over ${transport}`, () => {
    let conn: LibvirtConnection;
    before(async () => {
      conn =
        transport === 'unix'
          ? await connect(node.unixUri)
          : await connect(node.sshUri, { ssh: { extraArgs: node.sshArgs } });
    });
    after(async () => {
      await conn?.close();
    });

    void it('getHostname matches virsh hostname', async () => {
      assert.equal(await conn.getHostname(), (await node.virsh('hostname')).trim());
    });

    void it('getNodeInfo matches virsh nodeinfo', async () => {
      const info = await conn.getNodeInfo();
      const v = fields(await node.virsh('nodeinfo'));
      assert.equal(info.model, v.get('CPU model'));
      assert.equal(info.cpus, Number(v.get('CPU(s)')));
      assert.equal(info.mhz, Number(v.get('CPU frequency')?.replace(' MHz', '')));
      assert.equal(info.sockets, Number(v.get('CPU socket(s)')));
      assert.equal(info.cores, Number(v.get('Core(s) per socket')));
      assert.equal(info.threads, Number(v.get('Thread(s) per core')));
      assert.equal(info.nodes, Number(v.get('NUMA cell(s)')));
      assert.equal(info.memoryBytes, BigInt(v.get('Memory size')!.replace(' KiB', '')) * 1024n);
    });

    void it('getFreeMemory agrees with virsh freecell (within 10%: it moves)', async () => {
      const ours = Number(await conn.getFreeMemory());
      const total = fields(await node.virsh('freecell', '--all')).get('Total');
      const theirs = Number(total!.replace(' KiB', '')) * 1024;
      assert.ok(Math.abs(ours - theirs) / theirs < 0.1, `${ours} vs ${theirs}`);
    });

    void it('listAllDomains and lookup errors match virsh', async () => {
      const ours = (await conn.listAllDomains()).map((d) => d.name).sort();
      assert.deepEqual(ours, lines(await node.virsh('list', '--all', '--name')).sort());
      await assert.rejects(conn.lookupDomainByName('no-such-guest'), (e: unknown) => {
        assert.ok(e instanceof LibvirtError);
        assert.equal(e.code, 42);
        assert.equal(e.codeName, 'VIR_ERR_NO_DOMAIN');
        assert.match(e.message, /no-such-guest/);
        return true;
      });
    });

    void it('many calls in flight on one connection each get their own reply', async () => {
      const names = Array.from({ length: 40 }, (_, i) => `missing-${i}`);
      const results = await Promise.allSettled([
        ...names.map((n) => conn.lookupDomainByName(n)),
        conn.getHostname(),
        conn.getNodeInfo(),
      ]);
      results.slice(0, names.length).forEach((r, i) => {
        assert.equal(r.status, 'rejected');
        assert.match(String(r.reason), new RegExp(`'${names[i]}'`));
      });
      assert.equal(results[names.length]?.status, 'fulfilled');
      assert.equal(results[names.length + 1]?.status, 'fulfilled');
    });

    void it('listAllStoragePools matches virsh pool-list', async () => {
      const ours = (await conn.listAllStoragePools()).map((p) => p.name).sort();
      assert.deepEqual(ours, lines(await node.virsh('pool-list', '--all', '--name')).sort());
    });
  });
}

void describe('test:///default through the daemon', () => {
  let conn: LibvirtConnection;
  const testUri = (): string => `test+unix:///default?socket=${node.socket}`;
  const virshTest = async (...args: string[]): Promise<string> =>
    (await run('virsh', ['-c', testUri(), ...args])).stdout;
  before(async () => {
    conn = await connect(testUri());
  });
  after(async () => {
    await conn?.close();
  });

  void it('node info matches virsh', async () => {
    const info = await conn.getNodeInfo();
    const v = fields(await virshTest('nodeinfo'));
    assert.equal(info.model, v.get('CPU model'));
    assert.equal(info.cpus, Number(v.get('CPU(s)')));
    assert.equal(info.memoryBytes, BigInt(v.get('Memory size')!.replace(' KiB', '')) * 1024n);
  });

  void it('the domain test: listing, info, state, XML, stats match virsh', async () => {
    const doms = await conn.listAllDomains();
    assert.deepEqual(
      doms.map((d) => d.name),
      lines(await virshTest('list', '--all', '--name')),
    );
    const test = await conn.lookupDomainByName('test');
    const v = fields(await virshTest('dominfo', 'test'));
    assert.equal(test.uuid, v.get('UUID'));
    assert.equal(test.id, Number(v.get('Id')));
    const info = await conn.getDomainInfo(test);
    assert.equal(info.state, v.get('State'));
    assert.equal(info.vcpus, Number(v.get('CPU(s)')));
    assert.equal(info.maxMemoryBytes, BigInt(v.get('Max memory')!.replace(' KiB', '')) * 1024n);
    assert.equal(
      (await conn.getDomainState(test)).state,
      (await virshTest('domstate', 'test')).trim(),
    );
    assert.equal(await conn.getDomainAutostart(test), v.get('Autostart') === 'enable');
    const xml = await conn.getDomainXml(test);
    assert.match(xml, new RegExp(`<uuid>${test.uuid}</uuid>`));
    // The test driver implements only the state group of the all-domain stats.
    const stats = await conn.getAllDomainStats(DomainStatsTypes.STATE);
    const rec = stats.find((s) => s.domain.name === 'test');
    assert.equal(rec?.params.get('state.state'), 1);
  });

  void it('define, start, destroy, undefine on the test driver', async () => {
    const xml = `<domain type='test'><name>tsvirt-t1</name><memory>65536</memory><os><type>hvm</type></os></domain>`;
    const dom = await conn.defineDomainXml(xml);
    assert.equal((await conn.getDomainState(dom)).state, 'shut off');
    await conn.createDomain(dom);
    assert.equal((await conn.getDomainState(dom)).state, 'running');
    assert.equal(await conn.isDomainActive(dom), true);
    await conn.destroyDomain(dom);
    assert.equal((await conn.getDomainState(dom)).state, 'shut off');
    await conn.undefineDomain(dom);
    await assert.rejects(
      conn.lookupDomainByName('tsvirt-t1'),
      (e: unknown) => e instanceof LibvirtError && e.code === 42,
    );
  });
});
