import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClusterError, startCluster, templatesDir } from '../../src/index.js';
import { findProcessesUsing } from '../../src/processes.js';
import { tinyGuestXml } from '../../src/guest.js';

const rejectsWith = (promise: Promise<unknown>, pattern: RegExp): Promise<void> =>
  assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ClusterError);
    assert.equal(error.code, 'BAD_OPTION');
    assert.match(error.message, pattern);
    return true;
  });

void test('bad options are refused before anything starts, with the fix', async () => {
  await rejectsWith(
    startCluster({ name: '../etc' }),
    /bad cluster name "\.\.\/etc": use 1 to 32 lowercase/,
  );
  await rejectsWith(startCluster({ name: 'cache' }), /bad cluster name/);
  await rejectsWith(startCluster({ nodes: 0 }), /at least 1 node on/);
  await rejectsWith(startCluster({ nodes: 2, offNodes: -1 }), /bad node counts/);
  await rejectsWith(
    startCluster({ addressPrefix: '10.0.0.' }),
    /loopback address with the final dot, e.g. 127\.0\.1\./,
  );
  await rejectsWith(startCluster({ addressPrefix: '127.0.1' }), /bad address prefix/);
});

void test('no process uses a directory no cluster has', () => {
  assert.deepEqual(findProcessesUsing('/var/tmp/tsvirt-cluster/no-such-cluster-here'), []);
});

void test('the template answers the protocol questions and exits 2 otherwise', () => {
  const template = `${templatesDir}/tiny.template`;
  const run = (arg: string): { status: number | null; stdout: string } => {
    const r = spawnSync(template, [arg], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout.trim() };
  };
  assert.deepEqual(run('probe'), { status: 0, stdout: 'hello' });
  assert.deepEqual(run('base-image'), { status: 0, stdout: 'tsvirt-tiny' });
  assert.deepEqual(run('disk-bus'), { status: 0, stdout: 'virtio' });
  assert.equal(run('timezone').status, 2);
  assert.equal(run('').status, 2);
});

void test('the template build refuses to run without an output path', () => {
  const r = spawnSync(`${templatesDir}/tiny.template`, ['build'], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /build needs the environment variable output/);
});

void test('the guest XML is a TCG guest with a virtio disk and a logged serial console', () => {
  const xml = tinyGuestXml({
    name: "a'b",
    disk: '/var/lib/libvirt/images/a.qcow2',
    domainType: 'qemu',
  });
  assert.match(xml, /^<domain type='qemu'>/);
  assert.match(xml, /<name>a&apos;b<\/name>/);
  assert.match(xml, /<target dev='vda' bus='virtio'\/>/);
  assert.match(xml, /<log file='\/var\/log\/libvirt\/qemu\/a&apos;b-serial\.log'/);
});

void test('the CLI explains bad usage with status 2, before starting anything', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const testcluster = (...args: string[]): { status: number | null; stderr: string } =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const refused: [string[], RegExp][] = [
    [[], /^Usage: testcluster \[options\] \[command\]/],
    [['bogus'], /unknown command 'bogus'\n\(run `testcluster --help` for usage\)/],
    [['up', '--nodes', '2.5'], /'--nodes <n>' argument '2\.5' is invalid\. needs a whole number/],
    [['up', '--name', '../x'], /bad cluster name "\.\.\/x"/],
    [['down', '--nodes', '3'], /unknown option '--nodes'/],
    [['status', 'extra'], /too many arguments/],
  ];
  for (const [args, message] of refused) {
    const r = testcluster(...args);
    assert.equal(r.status, 2, `testcluster ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal(testcluster('--version').status, 0);
  assert.match(
    spawnSync(process.execPath, [cli, 'up', '--help'], { encoding: 'utf8' }).stdout,
    /--no-wake-on-lan/,
  );
});
