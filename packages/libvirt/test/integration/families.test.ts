/**
 * The generated methods of every read-only family virsh exposes (node, capabilities, domain,
 * network, storage pool and volume, interface, secret, nwfilter), each compared with what virsh
 * prints for the same question: on a test cluster node (qemu:///system, with a running guest, a
 * network, a secret, a filter and a volume defined for the occasion) and on test:///default
 * through the same daemon. Where virsh gets an error, the method must get libvirt's same error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Cluster, type ClusterNode, tinyGuestXml } from '@tsvirt/testcluster';
import {
  ConnectListAllNodeDeviceFlags,
  DOMAIN_STATES,
  DomainControlState,
  DomainDiskErrorCode,
  DomainMemoryStatTags,
  DomainNumatuneMemMode,
  DomainVcpuFlags,
  type DomainRef,
  type LibvirtConnection,
  LibvirtError,
  SecretUsageType,
  VcpuState,
  type TypedParams,
  connect,
} from '../../src/index.js';
import { fields, lines, startTestCluster } from '../support/cluster.js';

const run = promisify(execFile);

/** What a family's checks need to know about the place they run. */
interface Target {
  readonly label: string;
  readonly uri: string;
  readonly domain: string;
  readonly disk: string;
  readonly network: string;
  readonly pool: string;
  readonly volume: string | null;
  readonly iface: string;
}

let cluster: Cluster;
let node: ClusterNode;
let scratch: string | undefined;
const GUEST = 'lvf-guest';
const targets: Target[] = [];

async function virsh(t: Target, ...args: string[]): Promise<string> {
  return (await run('virsh', ['-c', t.uri, ...args])).stdout;
}

before(async () => {
  cluster = await startTestCluster('families', 1);
  node = cluster.nodes[0]!;
  const dir = (scratch = mkdtempSync(join(tmpdir(), 'libvirt-families-')));
  const qemu: Target = {
    label: 'qemu:///system on a test cluster node',
    uri: node.unixUri,
    domain: GUEST,
    disk: 'vda',
    network: 'lvf-net',
    pool: 'default',
    volume: 'lvf-disk.raw',
    iface: 'eth0',
  };
  // Things for every family to list: a running guest on an empty disk (qemu runs it under
  // TCG, looking for something to boot), a network, a secret with a value, a filter.
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  await virsh(qemu, 'vol-create-as', 'default', 'lvf-disk.raw', '16M', '--format', 'raw');
  await virsh(
    qemu,
    'define',
    file(
      'guest.xml',
      tinyGuestXml({
        name: GUEST,
        disk: '/var/lib/libvirt/images/lvf-disk.raw',
        format: 'raw',
        domainType: cluster.accel.domainType,
      }),
    ),
  );
  await virsh(qemu, 'start', GUEST);
  await virsh(
    qemu,
    'net-define',
    file('net.xml', `<network><name>lvf-net</name><bridge name='lvfbr0'/></network>`),
  );
  const secret = await virsh(
    qemu,
    'secret-define',
    file(
      'secret.xml',
      `<secret ephemeral='no' private='no'><usage type='volume'><volume>/var/lib/libvirt/images/lvf-disk.raw</volume></usage></secret>`,
    ),
  );
  const uuid = /([0-9a-f-]{36})/.exec(secret)![1]!;
  await virsh(qemu, 'secret-set-value', uuid, '--base64', Buffer.from('s3cret').toString('base64'));
  await virsh(
    qemu,
    'nwfilter-define',
    file(
      'filter.xml',
      `<filter name='lvf-filter' chain='root'><rule action='accept' direction='in'><all/></rule></filter>`,
    ),
  );
  targets.push(qemu, {
    label: 'test:///default through the daemon',
    uri: `test+unix:///default?socket=${node.libvirtSocket}`,
    domain: 'test',
    disk: 'vda',
    network: 'default',
    pool: 'default-pool',
    volume: null, // the test driver's state is per connection: virsh's and ours are apart
    iface: 'eth1',
  });
});

after(async () => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  await cluster?.stop();
});

/** libvirt's message without the C function virsh or we called (their fallbacks differ). */
const errorText = (message: string): string => message.replace(/: vir[A-Za-z]+$/, '').trim();

/**
 * virsh's answer, parsed, is what `ours` gives; or virsh failed and `ours` fails with the same
 * libvirt error.
 */
async function same<T>(
  t: Target,
  args: string[],
  parse: (out: string) => T,
  ours: () => Promise<T>,
): Promise<void> {
  let out: string;
  try {
    out = await virsh(t, ...args);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    const last =
      stderr
        .trim()
        .split('\n')
        .at(-1)
        ?.replace(/^error: /, '') ?? '';
    await assert.rejects(ours(), (err: unknown) => {
      assert.ok(
        err instanceof LibvirtError,
        `virsh ${args.join(' ')} failed (${last}); we got ${String(err)}`,
      );
      assert.equal(errorText(err.message), errorText(last), `virsh ${args.join(' ')}`);
      return true;
    });
    return;
  }
  assert.deepEqual(await ours(), parse(out), `virsh ${args.join(' ')}`);
}

/** A virsh table (header, dashes, rows) as rows of columns. */
const table = (out: string): string[][] =>
  out
    .split('\n')
    .slice(2)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(/\s{2,}/));

/** `key : value` lines, as virsh prints typed parameters. */
const params = (out: string): Record<string, string> =>
  Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^\s*(\S+)\s*:\s?(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.trim()]),
  );

const asText = (p: TypedParams): Record<string, string> =>
  Object.fromEntries([...p].map(([k, v]) => [k, String(v)]));

const sorted = (xs: string[]): string[] => [...xs].sort();

/** virsh's CPU lists ("0-3,5") of a bitmap of `cpus` CPUs. */
function cpuList(map: Uint8Array, cpus: number): string {
  const on = Array.from({ length: cpus }, (_, i) => ((map[i >> 3] ?? 0) >> (i & 7)) & 1);
  const runs: string[] = [];
  for (let i = 0; i < cpus; i++) {
    if (!on[i]) continue;
    let j = i;
    while (j + 1 < cpus && on[j + 1]) j++;
    runs.push(i === j ? `${i}` : `${i}-${j}`);
    i = j;
  }
  return runs.join(',');
}

/** How virsh names a memory statistic tag. */
const memoryStatName = (tag: number): string => {
  const key = Object.entries(DomainMemoryStatTags).find(([, v]) => v === tag)?.[0] ?? '';
  return key === 'ACTUAL_BALLOON' ? 'actual' : key.toLowerCase();
};

/** Unlimited memory tunables, as virsh prints them. */
const UNLIMITED = 9007199254740991n;

for (const t of [0, 1]) {
  void describe(t === 0 ? 'qemu:///system on a test cluster node' : 'test:///default', () => {
    let target: Target;
    let conn: LibvirtConnection;
    let dom: DomainRef;
    before(async () => {
      target = targets[t]!;
      conn = await connect(target.uri);
      dom = await conn.domainLookupByName(target.domain);
    });
    after(async () => {
      await conn?.close();
    });

    void it('node: nodeinfo, hostname, version, maxvcpus, sysinfo', async () => {
      await same(
        target,
        ['nodeinfo'],
        (out) => {
          const v = fields(out);
          return {
            model: v.get('CPU model'),
            memory: BigInt(v.get('Memory size')!.replace(' KiB', '')),
            cpus: Number(v.get('CPU(s)')),
            mhz: Number(v.get('CPU frequency')!.replace(' MHz', '')),
            nodes: Number(v.get('NUMA cell(s)')),
            sockets: Number(v.get('CPU socket(s)')),
            cores: Number(v.get('Core(s) per socket')),
            threads: Number(v.get('Thread(s) per core')),
          };
        },
        () => conn.nodeGetInfo(),
      );
      await same(
        target,
        ['hostname'],
        (out) => out.trim(),
        () => conn.connectGetHostname(),
      );
      const version = (v: bigint): string => `${v / 1000000n}.${(v / 1000n) % 1000n}.${v % 1000n}`;
      await same(
        target,
        ['version'],
        (out) => [fields(out).get('Using library'), fields(out).get('Running hypervisor')],
        async () => [
          `libvirt ${version(await conn.connectGetLibVersion())}`,
          `${await conn.connectGetType()} ${version(await conn.connectGetVersion())}`,
        ],
      );
      // virsh asks the domain capabilities first, then the driver's own answer.
      await same(
        target,
        ['maxvcpus'],
        (out) => Number(out.trim()),
        async () => {
          const caps = await conn
            .connectGetDomainCapabilities(null, null, null, null)
            .catch(() => '');
          const max = /<vcpu max='(\d+)'\/>/.exec(caps)?.[1];
          return max !== undefined ? Number(max) : conn.connectGetMaxVcpus(null);
        },
      );
      await same(
        target,
        ['sysinfo'],
        (out) => out.trim(),
        async () => (await conn.connectGetSysinfo()).trim(),
      );
    });

    void it('node: memory and CPU statistics, CPU map, memory tuning, free memory and pages', async () => {
      await same(
        target,
        ['nodememstats'],
        (out) => ({ keys: sorted(Object.keys(params(out))), total: params(out)['total'] }),
        async () => {
          const s = await conn.nodeGetMemoryStats(-1);
          return { keys: sorted([...s.keys()]), total: `${s.get('total')} KiB` };
        },
      );
      // CPU times only grow: ours, asked after virsh, are at least virsh's.
      const before = params(await virsh(target, 'nodecpustats'));
      const cpu = await conn.nodeGetCpuStats(-1);
      assert.deepEqual(
        sorted([...cpu.keys()].map((k) => (k === 'kernel' ? 'system' : k))),
        sorted(Object.keys(before)),
      );
      for (const [k, v] of cpu) assert.ok(v >= BigInt(before[k === 'kernel' ? 'system' : k]!), k);
      await same(
        target,
        ['nodecpumap'],
        (out) => {
          const v = fields(out);
          return [Number(v.get('CPUs present')), Number(v.get('CPUs online')), v.get('CPU map')];
        },
        async () => {
          const m = await conn.nodeGetCpuMap();
          const map = Array.from({ length: m.ret }, (_, i) =>
            ((m.cpumap[i >> 3] ?? 0) >> (i & 7)) & 1 ? 'y' : '-',
          ).join('');
          return [m.ret, m.online, map];
        },
      );
      // KSM's settings; its page counts move.
      const settled = ['shm_pages_to_scan', 'shm_sleep_millisecs', 'shm_merge_across_nodes'];
      await same(
        target,
        ['node-memory-tune'],
        (out) => {
          const p = Object.fromEntries(
            [...out.matchAll(/^\t(\S+)\s+(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
          );
          return [sorted(Object.keys(p)), settled.map((k) => p[k])];
        },
        async () => {
          const p = asText(await conn.nodeGetMemoryParameters());
          return [sorted(Object.keys(p)), settled.map((k) => p[k])];
        },
      );
      const cells = [
        ...(await virsh(target, 'freecell', '--all')).matchAll(/^\s*\d+:\s+(\d+) KiB$/gm),
      ].map((m) => Number(m[1]) * 1024);
      const ours = await conn.nodeGetCellsFreeMemory(0, cells.length);
      assert.equal(ours.length, cells.length);
      ours.forEach((v, i) => {
        // Free memory moves: within 10% (the test driver's is fixed).
        assert.ok(
          Math.abs(Number(v) - cells[i]!) <= cells[i]! * 0.1,
          `cell ${i}: ${v} vs ${cells[i]}`,
        );
      });
      await same(
        target,
        ['freepages', '--cellno', '0', '--pagesize', '2048'],
        (out) => Number(/2048KiB: (\d+)/.exec(out)?.[1]),
        async () => Number((await conn.nodeGetFreePages([2048], 0, 1))[0]),
      );
    });

    void it('node: devices, their XML, and the security model', async () => {
      const active = ConnectListAllNodeDeviceFlags.ACTIVE;
      await same(
        target,
        ['nodedev-list'],
        (out) => sorted(lines(out)),
        async () => sorted((await conn.connectListAllNodeDevices(active)).map((d) => d.name)),
      );
      await same(
        target,
        ['nodedev-dumpxml', 'computer'],
        (out) => out.trim(),
        async () => (await conn.nodeDeviceGetXmlDesc('computer')).trim(),
      );
      const dominfo = fields(await virsh(target, 'dominfo', target.domain));
      const model = await conn.nodeGetSecurityModel();
      assert.equal(model.model, dominfo.get('Security model'));
      assert.equal(model.doi, dominfo.get('Security DOI'));
    });

    void it('capabilities: host, domain, storage pool, CPU models', async () => {
      await same(
        target,
        ['capabilities'],
        (o) => o.trim(),
        async () => (await conn.connectGetCapabilities()).trim(),
      );
      await same(
        target,
        ['domcapabilities'],
        (o) => o.trim(),
        async () => (await conn.connectGetDomainCapabilities(null, null, null, null)).trim(),
      );
      await same(
        target,
        ['pool-capabilities'],
        (o) => o.trim(),
        async () => (await conn.connectGetStoragePoolCapabilities()).trim(),
      );
      await same(target, ['cpu-models', 'x86_64'], lines, () =>
        conn.connectGetCpuModelNames('x86_64'),
      );
    });

    void it('domain: lists, lookups, dominfo, state, XML', async () => {
      await same(
        target,
        ['list', '--all', '--name'],
        (o) => sorted(lines(o)),
        async () => sorted((await conn.connectListAllDomains()).map((d) => d.name)),
      );
      await same(
        target,
        ['list', '--name'],
        (o) => [lines(o).length, lines(o).length],
        async () => [await conn.connectNumOfDomains(), (await conn.connectListDomains(100)).length],
      );
      const v = fields(await virsh(target, 'dominfo', target.domain));
      const info = await conn.domainGetInfo(dom);
      assert.deepEqual(
        {
          id: String(dom.id),
          uuid: dom.uuid,
          osType: await conn.domainGetOsType(dom),
          state: DOMAIN_STATES[info.state],
          cpus: String(info.nrVirtCpu),
          maxMemory: `${info.maxMem} KiB`,
          persistent: (await conn.domainIsPersistent(dom)) ? 'yes' : 'no',
          autostart: (await conn.domainGetAutostart(dom)) ? 'enable' : 'disable',
          managedSave: (await conn.domainHasManagedSaveImage(dom)) ? 'yes' : 'no',
        },
        {
          id: v.get('Id'),
          uuid: v.get('UUID'),
          osType: v.get('OS Type'),
          state: v.get('State'),
          cpus: v.get('CPU(s)'),
          maxMemory: v.get('Max memory'),
          persistent: v.get('Persistent'),
          autostart: v.get('Autostart'),
          managedSave: v.get('Managed save'),
        },
      );
      assert.deepEqual(await conn.domainLookupById(dom.id), dom);
      assert.deepEqual(await conn.domainLookupByUuid(dom.uuid), dom);
      await same(
        target,
        ['domstate', target.domain],
        (o) => o.trim(),
        async () => DOMAIN_STATES[(await conn.domainGetState(dom)).state],
      );
      await same(
        target,
        ['dumpxml', target.domain],
        (o) => o.trim(),
        async () => (await conn.domainGetXmlDesc(dom)).trim(),
      );
      await same(
        target,
        ['domcontrol', target.domain],
        (o) => o.trim(),
        async () => {
          const state = (await conn.domainGetControlInfo(dom)).state;
          return Object.entries(DomainControlState)
            .find(([, n]) => n === state)![0]
            .toLowerCase();
        },
      );
    });

    void it('domain: vCPUs, pinning, scheduler, memory, block I/O and NUMA tuning, perf events', async () => {
      const { MAXIMUM, CONFIG, LIVE } = DomainVcpuFlags;
      await same(
        target,
        ['vcpucount', target.domain],
        (o) =>
          o
            .trim()
            .split('\n')
            .map((l) => Number(l.trim().split(/\s+/)[2])),
        async () =>
          Promise.all(
            [MAXIMUM | CONFIG, MAXIMUM | LIVE, CONFIG, LIVE].map((f) =>
              conn.domainGetVcpusFlags(dom, f),
            ),
          ),
      );
      const cpus = (await conn.nodeGetCpuMap()).ret;
      const maplen = Math.ceil(cpus / 8);
      const vcpus = (await conn.domainGetInfo(dom)).nrVirtCpu;
      await same(
        target,
        ['vcpupin', target.domain],
        (o) => table(o).map((r) => r[1]),
        async () => {
          const pins = await conn.domainGetVcpuPinInfo(dom, vcpus, maplen, 0);
          return Array.from({ length: pins.num }, (_, i) =>
            cpuList(pins.cpumaps.subarray(i * maplen, (i + 1) * maplen), cpus),
          );
        },
      );
      await same(
        target,
        ['emulatorpin', target.domain],
        (o) => /\*:\s*(\S+)/.exec(o)?.[1],
        async () => cpuList((await conn.domainGetEmulatorPinInfo(dom, maplen, 0)).cpumaps, cpus),
      );
      await same(
        target,
        ['vcpuinfo', target.domain],
        (o) => [...o.matchAll(/^State:\s+(\S+)/gm)].map((m) => m[1]),
        async () =>
          (await conn.domainGetVcpus(dom, vcpus, maplen)).info.map((i) =>
            Object.entries(VcpuState)
              .find(([, n]) => n === i.state)![0]
              .toLowerCase(),
          ),
      );
      await same(
        target,
        ['schedinfo', target.domain],
        (o) => params(o),
        async () => ({
          Scheduler: (await conn.domainGetSchedulerType(dom)).type,
          ...asText(await conn.domainGetSchedulerParameters(dom)),
        }),
      );
      await same(
        target,
        ['memtune', target.domain],
        (o) => params(o),
        async () =>
          Object.fromEntries(
            [...(await conn.domainGetMemoryParameters(dom))].map(([k, v]) => [
              k,
              v === UNLIMITED ? 'unlimited' : String(v),
            ]),
          ),
      );
      await same(
        target,
        ['blkiotune', target.domain],
        (o) => params(o),
        async () => asText(await conn.domainGetBlkioParameters(dom)),
      );
      await same(
        target,
        ['numatune', target.domain],
        (o) => params(o),
        async () => {
          const p = asText(await conn.domainGetNumaParameters(dom));
          const mode = Object.entries(DomainNumatuneMemMode).find(
            ([, n]) => String(n) === p['numa_mode'],
          );
          return { ...p, numa_mode: mode![0].toLowerCase() };
        },
      );
      await same(
        target,
        ['perf', target.domain],
        (o) => params(o),
        async () =>
          Object.fromEntries(
            [...(await conn.domainGetPerfEvents(dom))].map(([k, v]) => [
              k,
              v ? 'enabled' : 'disabled',
            ]),
          ),
      );
    });

    void it('domain: statistics, CPU and memory stats, block info and tuning, disk errors', async () => {
      await same(
        target,
        ['domstats', target.domain],
        (o) => sorted([...o.matchAll(/^\s+([^=\s]+)=/gm)].map((m) => m[1]!)),
        async () => sorted([...(await conn.connectGetAllDomainStats([dom], 0))[0]!.params.keys()]),
      );
      await same(
        target,
        ['cpu-stats', target.domain, '--total'],
        (o) => sorted([...o.matchAll(/^\s+(\w+)\s+[\d.]+ seconds$/gm)].map((m) => m[1]!)),
        async () => sorted([...(await conn.domainGetCpuStats(dom, -1, 1))[0]!.keys()]),
      );
      await same(
        target,
        ['dommemstat', target.domain],
        (o) => sorted(lines(o).map((l) => l.split(' ')[0]!)),
        async () =>
          sorted(
            (await conn.domainMemoryStats(dom, DomainMemoryStatTags.NR, 0)).map((s) =>
              memoryStatName(s.tag),
            ),
          ),
      );
      await same(
        target,
        ['domblkinfo', target.domain, target.disk],
        (o) => {
          const v = fields(o);
          return {
            capacity: BigInt(v.get('Capacity')!),
            allocation: BigInt(v.get('Allocation')!),
            physical: BigInt(v.get('Physical')!),
          };
        },
        () => conn.domainGetBlockInfo(dom, target.disk),
      );
      await same(
        target,
        ['blkdeviotune', target.domain, target.disk],
        (o) => sorted(Object.keys(params(o))),
        async () => sorted([...(await conn.domainGetBlockIoTune(dom, target.disk)).keys()]),
      );
      const errorNames: Record<number, string> = {
        [DomainDiskErrorCode.UNSPEC]: 'unspecified error',
        [DomainDiskErrorCode.NO_SPACE]: 'no space',
      };
      await same(
        target,
        ['domblkerror', target.domain],
        (o) => (o.trim() === 'No errors found' ? [] : lines(o)),
        async () =>
          (await conn.domainGetDiskErrors(dom, 16, 0)).errors.map(
            (e) => `${e.disk}: ${errorNames[e.error]}`,
          ),
      );
      await same(
        target,
        ['domjobinfo', target.domain],
        (o) => fields(o).get('Job type'),
        async () => ((await conn.domainGetJobInfo(dom)).type === 0 ? 'None' : 'a job'),
      );
    });

    void it('domain: guest agent answers, addresses, snapshots, checkpoints, I/O threads', async () => {
      await same(
        target,
        ['domhostname', target.domain],
        (o) => o.trim(),
        () => conn.domainGetHostname(dom),
      );
      await same(
        target,
        ['domtime', target.domain],
        (o) => fields(o).get('Time'),
        async () => String((await conn.domainGetTime(dom)).seconds),
      );
      await same(target, ['domfsinfo', target.domain], table, async () =>
        (await conn.domainGetFsInfo(dom)).map((f) => [
          f.mountpoint,
          f.name,
          f.fstype,
          f.devAliases.join(','),
        ]),
      );
      await same(
        target,
        ['domifaddr', target.domain],
        (o): (string | null | undefined)[][] => table(o).map((r) => [r[0], r[1], r[2], r[3]]),
        async () =>
          (await conn.domainInterfaceAddresses(dom, 0)).flatMap((i) =>
            i.addrs.map((a) => [
              i.name,
              i.hwaddr,
              a.type === 0 ? 'ipv4' : 'ipv6',
              `${a.addr}/${a.prefix}`,
            ]),
          ),
      );
      await same(target, ['snapshot-list', target.domain, '--name'], lines, async () =>
        (await conn.domainListAllSnapshots(dom)).map((s) => s.name),
      );
      await same(target, ['checkpoint-list', target.domain, '--name'], lines, async () =>
        (await conn.domainListAllCheckpoints(dom)).map((c) => c.name),
      );
      await same(
        target,
        ['iothreadinfo', target.domain],
        (o) => (o.includes('No IOThreads') ? [] : table(o).map((r) => r[0])),
        async () => (await conn.domainGetIoThreadInfo(dom)).map((i) => String(i.iothreadId)),
      );
    });

    void it('network: list, info, XML, DHCP leases, ports', async () => {
      await same(
        target,
        ['net-list', '--all', '--name'],
        (o) => sorted(lines(o)),
        async () => sorted((await conn.connectListAllNetworks()).map((n) => n.name)),
      );
      const net = await conn.networkLookupByName(target.network);
      await same(
        target,
        ['net-info', target.network],
        (o) => Object.fromEntries(fields(o)),
        async () => {
          const active = await conn.networkIsActive(net);
          return {
            Name: net.name,
            UUID: net.uuid,
            Active: active ? 'yes' : 'no',
            Persistent: (await conn.networkIsPersistent(net)) ? 'yes' : 'no',
            Autostart: (await conn.networkGetAutostart(net)) ? 'yes' : 'no',
            Bridge: await conn.networkGetBridgeName(net),
          };
        },
      );
      await same(
        target,
        ['net-dumpxml', target.network],
        (o) => o.trim(),
        async () => (await conn.networkGetXmlDesc(net)).trim(),
      );
      await same(
        target,
        ['net-uuid', target.network],
        (o) => o.trim(),
        async () => (await conn.networkLookupByUuid(net.uuid)).uuid,
      );
      await same(
        target,
        ['net-dhcp-leases', target.network],
        (o) => table(o),
        async () =>
          (await conn.networkGetDhcpLeases(net, null)).map((l) => [l.mac ?? '', l.ipaddr]),
      );
      await same(target, ['net-port-list', target.network, '--uuid'], lines, async () =>
        (await conn.networkListAllPorts(net)).map((p) => p.uuid),
      );
    });

    void it('storage: pools, their info and XML; volumes, their info, XML and lookups', async () => {
      await same(
        target,
        ['pool-list', '--all', '--name'],
        (o) => sorted(lines(o)),
        async () => sorted((await conn.connectListAllStoragePools()).map((p) => p.name)),
      );
      const pool = await conn.storagePoolLookupByName(target.pool);
      const v = fields(await virsh(target, 'pool-info', '--bytes', target.pool));
      const info = await conn.storagePoolGetInfo(pool);
      assert.deepEqual(
        [pool.name, pool.uuid, info.state === 2 ? 'running' : 'inactive', String(info.capacity)],
        [v.get('Name'), v.get('UUID'), v.get('State'), v.get('Capacity')],
      );
      // The pool's directory is on a disk others write to: its allocation moves a little.
      assert.ok(
        Math.abs(Number(info.allocation) - Number(v.get('Allocation'))) <=
          Number(info.capacity) / 100,
      );
      assert.equal((await conn.storagePoolIsPersistent(pool)) ? 'yes' : 'no', v.get('Persistent'));
      assert.equal((await conn.storagePoolGetAutostart(pool)) ? 'yes' : 'no', v.get('Autostart'));
      const settled = (xml: string): string =>
        xml.replace(/<(capacity|allocation|available)( unit='bytes')?>\d+</g, '<$1$2>N<').trim();
      await same(target, ['pool-dumpxml', target.pool], settled, async () =>
        settled(await conn.storagePoolGetXmlDesc(pool)),
      );
      await same(target, ['vol-list', target.pool], table, async () =>
        Promise.all(
          (await conn.storagePoolListAllVolumes(pool)).map(async (vol) => [
            vol.name,
            await conn.storageVolGetPath(vol),
          ]),
        ),
      );
      if (target.volume === null) return;
      const vol = await conn.storageVolLookupByName(pool, target.volume);
      await same(
        target,
        ['vol-info', '--bytes', '--pool', target.pool, target.volume],
        (o) => Object.fromEntries(fields(o)),
        async () => {
          const i = await conn.storageVolGetInfo(vol);
          return {
            Name: vol.name,
            Type: i.type === 0 ? 'file' : String(i.type),
            Capacity: `${i.capacity} bytes`,
            Allocation: `${i.allocation} bytes`,
          };
        },
      );
      const noTimes = (xml: string): string =>
        xml.replace(/<timestamps>[\s\S]*?<\/timestamps>/, '').trim();
      await same(target, ['vol-dumpxml', '--pool', target.pool, target.volume], noTimes, async () =>
        noTimes(await conn.storageVolGetXmlDesc(vol)),
      );
      const path = (await virsh(target, 'vol-path', '--pool', target.pool, target.volume)).trim();
      assert.equal(await conn.storageVolGetPath(vol), path);
      assert.equal(
        (await conn.storageVolLookupByPath(path)).key,
        (await virsh(target, 'vol-key', path)).trim(),
      );
      assert.equal(
        (await conn.storageVolLookupByKey(vol.key)).name,
        (await virsh(target, 'vol-name', vol.key)).trim(),
      );
      assert.equal(
        (await conn.storagePoolLookupByVolume(vol)).name,
        (await virsh(target, 'vol-pool', path)).trim(),
      );
    });

    void it('interface: list with state and MAC, XML, lookups by MAC and name', async () => {
      await same(
        target,
        ['iface-list', '--all'],
        (o) => sorted(table(o).map((r) => r.join(' '))),
        async () =>
          sorted(
            await Promise.all(
              (await conn.connectListAllInterfaces()).map(
                async (i) =>
                  `${i.name} ${(await conn.interfaceIsActive(i)) ? 'active' : 'inactive'} ${i.mac}`,
              ),
            ),
          ),
      );
      const iface = await conn.interfaceLookupByName(target.iface);
      await same(
        target,
        ['iface-dumpxml', target.iface],
        (o) => o.trim(),
        async () => (await conn.interfaceGetXmlDesc(iface)).trim(),
      );
      await same(
        target,
        ['iface-mac', target.iface],
        (o) => o.trim(),
        () => Promise.resolve(iface.mac),
      );
      await same(
        target,
        ['iface-name', iface.mac],
        (o) => o.trim(),
        async () => (await conn.interfaceLookupByMacString(iface.mac)).name,
      );
    });

    void it('secret: list with usage, XML, value', async () => {
      const usage = (type: number, id: string): string => {
        const name = Object.entries(SecretUsageType)
          .find(([, n]) => n === type)![0]
          .toLowerCase();
        return `${name} ${id}`;
      };
      await same(
        target,
        ['secret-list'],
        (o) => table(o).map((r) => [r[0], r[1]]),
        async () =>
          (await conn.connectListAllSecrets()).map((s) => [s.uuid, usage(s.usageType, s.usageID)]),
      );
      if (t !== 0) return; // the test driver has no secrets
      const [secret] = await conn.connectListAllSecrets();
      await same(
        target,
        ['secret-dumpxml', secret!.uuid],
        (o) => o.trim(),
        async () => (await conn.secretGetXmlDesc(secret!)).trim(),
      );
      await same(
        target,
        ['secret-get-value', secret!.uuid],
        (o) => o.trim(),
        async () => Buffer.from(await conn.secretGetValue(secret!)).toString('base64'),
      );
    });

    void it('nwfilter: list, XML, bindings', async () => {
      await same(
        target,
        ['nwfilter-list'],
        (o) => table(o).map((r) => [r[0], r[1]]),
        async () => (await conn.connectListAllNwFilters()).map((f) => [f.uuid, f.name]),
      );
      await same(target, ['nwfilter-binding-list'], table, async () =>
        (await conn.connectListAllNwFilterBindings()).map((b) => [b.portdev, b.filtername]),
      );
      if (t !== 0) return;
      const filter = await conn.nwFilterLookupByName('lvf-filter');
      await same(
        target,
        ['nwfilter-dumpxml', 'lvf-filter'],
        (o) => o.trim(),
        async () => (await conn.nwFilterGetXmlDesc(filter)).trim(),
      );
    });
  });
}
