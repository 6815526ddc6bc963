// Conversions into the test cluster and out of it, and the converted guests booted there
// under TCG until systemd runs on their serial console, from a virtio-blk disk:
// - a hand-made OVA (VMDK + OVF + manifest) with tsv2v -i ova -o libvirt to node1;
// - that guest read back from node1 with tsv2v -i libvirt (its volume downloaded through
//   libvirt's stream), converted to -o local;
// - the Debian test guest with `mclu import node2:NAME disk.img --start`.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@tsvirt/libvirt';
import { startCluster, type Cluster } from '@tsvirt/testcluster';
import { debianImage, type DebianImage } from '@tsvirt/testimages';
import { fileURLToPath } from 'node:url';
import { OVA_MEMORY_MIB, handMadeOva } from './ova.js';
import { allocated, run, sha256, tempDir, tsv2v } from './helpers.js';

const TIMEOUT = 45 * 60_000;
const BOOTED = /systemd\[1\]: |Welcome to .*Debian|login:/;
const MCLU = fileURLToPath(new URL('../../../../mclu/dist/src/cli/main.js', import.meta.url));

/** Starts the guest and reads its console (libvirt's stream) until systemd speaks. */
async function bootAndWatch(uri: string, name: string, timeoutMs = 10 * 60_000): Promise<string> {
  const conn = await connect(uri);
  try {
    let dom = await conn.lookupDomainByName(name);
    // virt-v2v's XML (and so tsv2v's) has a vsock device; this machine has no
    // /dev/vhost-vsock, so libvirt could not start it: taken out here, for the test only.
    const xml = await conn.getDomainXml(dom, 0);
    if (xml.includes('<vsock'))
      dom = await conn.defineDomainXml(
        xml.replace(/\s*<vsock[^>]*?(\/>|>[\s\S]*?<\/vsock>)/, ''),
        0,
      );
    await conn.createDomain(dom, 0);
    const stream = await conn.openConsole(dom, null, 0);
    let text = '';
    const deadline = Date.now() + timeoutMs;
    try {
      for await (const chunk of stream) {
        text += (chunk as Buffer).toString('latin1');
        if (BOOTED.test(text) || Date.now() > deadline) break;
      }
    } finally {
      stream.destroy();
    }
    await conn.destroyDomain(dom).catch(() => undefined);
    return text;
  } finally {
    await conn.close();
  }
}

void describe('conversions into the test cluster, and boots there', { timeout: TIMEOUT }, () => {
  let cluster: Cluster;
  let image: DebianImage;
  let ova: string;
  const tmp = tempDir('v2v-cluster-');
  before(async () => {
    image = await debianImage();
    ova = await handMadeOva(image, 'ovaguest');
    cluster = await startCluster({
      name: 'v2v',
      nodes: 2,
      addressPrefix: '127.0.44.',
      accel: 'tcg',
    });
  });
  after(async () => {
    await cluster?.stop();
    tmp.cleanup();
  });

  void test('-i ova -o libvirt: defined on node1 as the OVF says, boots on virtio-blk', async () => {
    const node = cluster.nodes[0]!;
    const before = await sha256(ova);
    const r = await tsv2v([
      '-i',
      'ova',
      ova,
      '-o',
      'libvirt',
      '-oc',
      node.virshUri,
      '-os',
      'default',
      '-n',
      'user',
      '--domain-type',
      'qemu',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    process.stderr.write(`tsv2v -i ova -o libvirt: ${(r.ms / 1000).toFixed(0)} s\n`);
    assert.equal(await sha256(ova), before, 'the OVA is unchanged');
    const xml = await run('virsh', ['-c', node.virshUri, 'dumpxml', 'ovaguest']);
    assert.equal(xml.code, 0, xml.stderr);
    assert.match(xml.stdout, /<memory unit='KiB'>786432<\/memory>/);
    assert.match(xml.stdout, /machine='pc-q35/);
    assert.match(xml.stdout, /<source pool='default' volume='ovaguest-sda'\/>/);
    assert.match(xml.stdout, /<target dev='vda' bus='virtio'\/>/);
    assert.match(xml.stdout, /<interface type='user'>/);
    assert.ok(existsSync(join(node.imagesDir, 'ovaguest-sda')));
    const console = await bootAndWatch(node.unixUri, 'ovaguest');
    assert.match(console, BOOTED, `no systemd on the console:\n${console.slice(-3000)}`);
    assert.match(console, /vda/, 'the kernel found the virtio disk');
    assert.equal(OVA_MEMORY_MIB * 1024, 786432);
  });

  void test('-i libvirt: the guest on node1, read through its volume stream, converts', async () => {
    const node = cluster.nodes[0]!;
    const out = join(tmp.dir, 'from-node');
    mkdirSync(out);
    // --print-source reads the metadata only: the volume is named, not fetched.
    const printed = await tsv2v([
      '-i',
      'libvirt',
      '-ic',
      node.virshUri,
      'ovaguest',
      '--print-source',
    ]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /\t0: \S+: default\/ovaguest-sda \(raw\)/);
    assert.deepEqual(
      readdirSync(process.cwd()).filter((f) => f.startsWith('source-')),
      [],
    );
    const r = await tsv2v([
      '-i',
      'libvirt',
      '-ic',
      node.virshUri,
      'ovaguest',
      '-o',
      'local',
      '-os',
      out,
      '-on',
      'fromnode',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    process.stderr.write(`tsv2v -i libvirt: ${(r.ms / 1000).toFixed(0)} s\n`);
    const xml = readFileSync(join(out, 'fromnode.xml'), 'utf8');
    assert.match(xml, /<memory unit="KiB">786432<\/memory>/);
    assert.match(xml, /<target dev="vda" bus="virtio"\/>/);
    assert.ok(allocated(join(out, 'fromnode-sda')) < 1024 ** 3);
    // Converting a converted guest changes nothing that matters: the initramfs is kept.
    assert.match(r.stdout, /kept: it already has/);
  });

  void test('mclu import node2:NAME disk --start: uploaded, defined, started; it boots', async () => {
    const node = cluster.nodes[1]!;
    const r = await run(
      process.execPath,
      [MCLU, 'import', 'node2:imported', image.path, '--start', '--memory', '512M'],
      {
        env: { MCLU_CONFIG: cluster.mcluConfig },
      },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    process.stderr.write(`mclu import: ${(r.ms / 1000).toFixed(0)} s\n`);
    assert.match(r.stdout, /imported imported on node2 \(running\)/);
    const log = join(node.logDir, 'qemu', 'imported-serial.log');
    const deadline = Date.now() + 10 * 60_000;
    let text = '';
    while (Date.now() < deadline) {
      text = existsSync(log) ? readFileSync(log, 'latin1') : '';
      if (BOOTED.test(text)) break;
      await sleep(2000);
    }
    assert.match(text, BOOTED, `no systemd on the serial console:\n${text.slice(-3000)}`);
    assert.match(text, /vda/);
    const info = await run(process.execPath, [MCLU, 'info', 'imported', '--json'], {
      env: { MCLU_CONFIG: cluster.mcluConfig },
    });
    assert.equal(info.code, 0, info.stderr);
    const disks = (JSON.parse(info.stdout) as { disks: { bus: string; format: string }[] }).disks;
    assert.deepEqual(
      disks.map((d) => [d.bus, d.format]),
      [['virtio', 'qcow2']],
    );
  });
});
