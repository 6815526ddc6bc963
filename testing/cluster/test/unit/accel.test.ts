import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  accelRequest,
  ACCEL_ENV,
  chooseAccel,
  describeAccel,
  machineDomainType,
  probeKey,
  readCachedProbe,
  type ChooseAccelDeps,
} from '../../src/accel.js';
import { ClusterError } from '../../src/errors.js';
import { tinyGuestXml } from '../../src/guest.js';
import { kvmUsable, type KvmProbeResult } from '../../src/kvm-probe.js';

const badOption = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ClusterError);
    assert.equal(error.code, 'BAD_OPTION');
    assert.match(error.message, pattern);
    return true;
  });

void test('the option wins over the environment, which wins over the default probe', () => {
  const env = { [ACCEL_ENV]: 'kvm' };
  assert.deepEqual(accelRequest('tcg', env), {
    mode: 'tcg',
    from: 'the accel option (--accel tcg)',
  });
  assert.deepEqual(accelRequest(undefined, env), { mode: 'kvm', from: `${ACCEL_ENV}=kvm` });
  assert.deepEqual(accelRequest(undefined, {}), { mode: 'probe', from: 'default' });
  assert.deepEqual(accelRequest(undefined, { [ACCEL_ENV]: '' }).mode, 'probe');
});

void test('a bad accelerator is refused with where it came from and the values that work', () => {
  badOption(
    () => accelRequest(undefined, { [ACCEL_ENV]: 'fast' }),
    /bad accelerator "fast" \(TSVIRT_CLUSTER_ACCEL=fast\): use tcg, kvm or probe/,
  );
  badOption(() => accelRequest('KVM', {}), /bad accelerator "KVM" \(the accel option/);
});

/** chooseAccel's dependencies with a probe that counts its calls. */
function fakeMachine(result: KvmProbeResult, key = 'probe v1; kernel 6.1; QEMU 7.2') {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-accel-test-'));
  const calls = { probes: 0 };
  const deps: ChooseAccelDeps = {
    cacheFile: join(dir, 'kvm-probe.json'),
    key,
    probe: () => {
      calls.probes++;
      return Promise.resolve(result);
    },
    now: () => new Date('2026-11-27T03:00:00Z'),
  };
  return { dir, deps, calls };
}

const hang: KvmProbeResult = {
  works: false,
  reason: 'the test guest did not boot under KVM: no boot marker within 25 s',
  seconds: 25.2,
};
const boots: KvmProbeResult = {
  works: true,
  reason: 'the test guest booted under KVM in 1.4 s',
  seconds: 1.4,
};

void test('a forced accelerator needs no probe and touches no cache', async () => {
  const { dir, deps, calls } = fakeMachine(hang);
  try {
    const kvm = await chooseAccel({ mode: 'kvm', from: `${ACCEL_ENV}=kvm` }, deps);
    assert.deepEqual(kvm, {
      domainType: 'kvm',
      source: 'forced',
      reason: 'forced by TSVIRT_CLUSTER_ACCEL=kvm',
    });
    const tcg = await chooseAccel({ mode: 'tcg', from: '--accel tcg' }, deps);
    assert.equal(tcg.domainType, 'qemu');
    assert.equal(calls.probes, 0);
    assert.equal(readCachedProbe(deps.cacheFile, deps.key), null);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

void test('the probe runs once; later decisions come from the cache', async () => {
  const { dir, deps, calls } = fakeMachine(hang);
  try {
    const first = await chooseAccel({ mode: 'probe', from: 'default' }, deps);
    assert.equal(first.domainType, 'qemu');
    assert.equal(first.source, 'probed');
    assert.match(first.reason, /KVM probe just now \(25\.2 s.*no boot marker within 25 s/);
    const second = await chooseAccel({ mode: 'probe', from: 'default' }, deps);
    assert.equal(second.domainType, 'qemu');
    assert.equal(second.source, 'cached');
    assert.match(
      second.reason,
      /^KVM probe of 2026-11-27T03:00:00.000Z, cached for this kernel and qemu: the test/,
    );
    assert.match(second.reason, /no boot marker within 25 s/);
    assert.equal(calls.probes, 1);
    assert.deepEqual(readCachedProbe(deps.cacheFile, deps.key), {
      ...hang,
      key: deps.key,
      probedAt: '2026-11-27T03:00:00.000Z',
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

void test('a guest that boots under KVM makes the guests KVM guests', async () => {
  const { dir, deps } = fakeMachine(boots);
  try {
    const choice = await chooseAccel({ mode: 'probe', from: 'default' }, deps);
    assert.equal(choice.domainType, 'kvm');
    assert.match(describeAccel(choice), /^guests run under KVM, domain_type "kvm": KVM probe/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

void test('a new kernel or qemu, or an unreadable cache, probes again', async () => {
  const { dir, deps, calls } = fakeMachine(boots);
  try {
    await chooseAccel({ mode: 'probe', from: 'default' }, deps);
    const upgraded = { ...deps, key: probeKey('6.2.0', 'QEMU emulator version 8.2.0\nCopyright') };
    assert.equal(upgraded.key, 'probe v1; kernel 6.2.0; QEMU emulator version 8.2.0');
    assert.equal(
      (await chooseAccel({ mode: 'probe', from: 'default' }, upgraded)).source,
      'probed',
    );
    writeFileSync(deps.cacheFile, '{"key": "probe v1; kernel 6.1; QEMU 7.2", "works": "yes"');
    assert.equal((await chooseAccel({ mode: 'probe', from: 'default' }, deps)).source, 'probed');
    assert.equal(calls.probes, 3);
    assert.equal(readCachedProbe(deps.cacheFile, deps.key)?.works, true);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

void test('the guest XML takes its domain type from the option, else from the machine', () => {
  const xml = (domainType?: 'kvm' | 'qemu'): string =>
    tinyGuestXml({
      name: 'g',
      disk: '/var/lib/libvirt/images/g.qcow2',
      ...(domainType && { domainType }),
    });
  assert.match(xml('kvm'), /^<domain type='kvm'>/);
  assert.match(xml('qemu'), /^<domain type='qemu'>/);
  const saved = process.env[ACCEL_ENV];
  try {
    process.env[ACCEL_ENV] = 'kvm';
    assert.match(xml(), /^<domain type='kvm'>/);
    process.env[ACCEL_ENV] = 'tcg';
    assert.match(xml(), /^<domain type='qemu'>/);
  } finally {
    if (saved === undefined) delete process.env[ACCEL_ENV];
    else process.env[ACCEL_ENV] = saved;
  }
  assert.equal(machineDomainType({ [ACCEL_ENV]: 'kvm' }), 'kvm');
});

void test('a missing KVM device is reported as not usable, with the reason', () => {
  const r = kvmUsable('/nonexistent/kvm');
  assert.equal(r.usable, false);
  assert.match(r.why, /\/nonexistent\/kvm is not usable: ENOENT/);
});

void test('the CLI refuses a bad --accel with status 2 before starting anything', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'up', '--accel', 'fast', '--name', 'unit-accel'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad accelerator "fast" \(--accel\): use tcg, kvm or probe/);
});
