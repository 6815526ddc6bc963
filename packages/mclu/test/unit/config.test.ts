import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configCandidates, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { sshOptions } from '../../src/ssh.js';
import { distrust } from '../../src/trust.js';

const GOOD = `
[defaults]
memory = "512M"
vcpus = 2
size = "20G"
network = "user"
domain_type = "qemu"
templates = ["templates", "/usr/share/mclu"]
ssh_config = "ssh_config"

[nodes.ham0]
host = "root@ham0"
mac = "74-D4-35-51-AB-86"

[nodes.ham1]
host = "ham1"
uri = "qemu+ssh://root@ham1:2222/system"
wol_address = "192.168.0.255:7"
`;

function configError(text: string): ConfigError {
  try {
    parseConfig(text, '/etc/mclu/mclu.conf');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the configuration to be refused');
}

void test('a complete configuration is read with typed values and relative paths resolved', () => {
  const config = parseConfig(GOOD, '/etc/mclu/mclu.conf');
  assert.equal(config.defaults.memoryBytes, 512n << 20n);
  assert.equal(config.defaults.vcpus, 2);
  assert.equal(config.defaults.sizeBytes, 20n << 30n);
  assert.equal(config.defaults.network, 'user');
  assert.equal(config.defaults.domainType, 'qemu');
  assert.deepEqual(config.defaults.templates, ['/etc/mclu/templates', '/usr/share/mclu']);
  assert.equal(config.defaults.sshConfig, '/etc/mclu/ssh_config');
  assert.equal(config.defaults.images, '/var/lib/libvirt/images');
  assert.deepEqual(
    config.nodes.map((n) => [n.name, n.host, n.mac, n.uri, n.wolAddress]),
    [
      [
        'ham0',
        'root@ham0',
        '74:d4:35:51:ab:86',
        'qemu+ssh://root@ham0/system',
        { host: '255.255.255.255', port: 9 },
      ],
      [
        'ham1',
        'ham1',
        null,
        'qemu+ssh://root@ham1:2222/system',
        { host: '192.168.0.255', port: 7 },
      ],
    ],
  );
});

void test('a TOML syntax error names the file, the line and the column', () => {
  const error = configError('[defaults]\nmemory = 512M\n[nodes.a]\nhost = "a"\n');
  assert.equal(error.code, 'CONFIG');
  assert.match(error.message, /^\/etc\/mclu\/mclu\.conf: line 2, column \d+: TOML syntax error/);
});

void test('an unknown key is reported with its line, its path and the known keys', () => {
  const error = configError('[nodes.ham0]\nhost = "ham0"\nmacc = "74:d4:35:51:ab:86"\n');
  assert.match(
    error.message,
    /line 3: nodes\.ham0\.macc: unknown key.*known: host, mac, uri, wol_address/,
  );
});

void test('bad values say what is expected', () => {
  assert.match(
    configError('[defaults]\nmemory = "lots"\n[nodes.a]\nhost = "a"\n').message,
    /line 2: defaults\.memory: must be a whole number followed by K, M, G or T \(powers of 1024\), e\.g\. "256M"/,
  );
  assert.match(
    configError('[defaults]\nmemory = "1.5G"\n[nodes.a]\nhost = "a"\n').message,
    /line 2: defaults\.memory: must be a whole number .* \(got "1\.5G"\)/,
  );
  assert.match(
    configError('[defaults]\nmemory = "512K"\n[nodes.a]\nhost = "a"\n').message,
    /line 2: defaults\.memory: a guest needs at least 1M of memory/,
  );
  assert.match(
    configError('[defaults]\ntemplate_timeout = { build = "long" }\n[nodes.a]\nhost = "a"\n')
      .message,
    /defaults\.template_timeout\.build: must be a number of seconds greater than 0, e\.g\. build = 1800/,
  );
  assert.match(
    configError('[defaults]\ntemplate_timeout = { bild = 1 }\n[nodes.a]\nhost = "a"\n').message,
    /defaults\.template_timeout\.bild: unknown key; it holds build and questions, in seconds/,
  );
  assert.match(
    configError('[defaults]\nssh_connection_sharing = "no"\n[nodes.a]\nhost = "a"\n').message,
    /line 2: defaults\.ssh_connection_sharing: must be true or false, without quotes/,
  );
  assert.match(
    configError('[defaults]\nvcpus = 2\n[nodes]\n').message,
    /line 3: nodes: no node in it; add a table per node/,
  );
  assert.match(
    configError('[defaults]\ndomain_type = "xen"\n[nodes.a]\nhost = "a"\n').message,
    /defaults\.domain_type: must be "kvm".*or "qemu"/,
  );
  assert.match(
    configError('[nodes.a]\nhost = "a"\nmac = "nope"\n').message,
    /line 3: nodes\.a\.mac: must be a MAC address/,
  );
  assert.match(
    configError('[nodes.a]\nmac = "74:d4:35:51:ab:86"\n').message,
    /line 1: nodes\.a: missing host; add host = "root@a"/,
  );
  assert.match(configError('[defaults]\nvcpus = 2\n').message, /no nodes configured/);
});

void test('template timeouts and connection sharing have defaults and can be set', () => {
  const plain = parseConfig('[nodes.a]\nhost = "a"\n', '/etc/mclu/mclu.conf');
  assert.deepEqual(plain.defaults.templateTimeouts, { buildMs: 1_800_000, questionsMs: 30_000 });
  assert.equal(plain.defaults.sshConnectionSharing, true);
  assert.equal(plain.defaults.sshControlDir, null);
  const set = parseConfig(
    '[defaults]\ntemplate_timeout = { questions = 5 }\nssh_connection_sharing = false\nssh_control_dir = "cm"\n[nodes.a]\nhost = "a"\n',
    '/etc/mclu/mclu.conf',
  );
  assert.deepEqual(set.defaults.templateTimeouts, { buildMs: 1_800_000, questionsMs: 5000 });
  assert.equal(set.defaults.sshConnectionSharing, false);
  assert.equal(set.defaults.sshControlDir, '/etc/mclu/cm');
});

void test('a configuration file is trusted like OpenSSH trusts its own', () => {
  const me = 1000;
  assert.equal(distrust({ uid: me, mode: 0o100644 }, me), null);
  assert.equal(distrust({ uid: 0, mode: 0o100600 }, me), null);
  assert.equal(
    distrust({ uid: me, mode: 0o100664 }, me),
    'it is writable by its group (mode 0664); fix with chmod go-w',
  );
  assert.equal(
    distrust({ uid: me, mode: 0o100666 }, me),
    'it is writable by its group and others (mode 0666); fix with chmod go-w',
  );
  assert.match(
    distrust({ uid: 1001, mode: 0o100644 }, me) ?? '',
    /^it is owned by uid 1001, neither you \(uid 1000\) nor root/,
  );
});

void test('the configuration file is looked for in the documented order', () => {
  assert.deepEqual(configCandidates({ MCLU_CONFIG: 'my.conf', XDG_CONFIG_HOME: '/x' }, '/work'), [
    '/work/my.conf',
    '/work/mclu.conf',
    '/x/mclu/mclu.conf',
    '/etc/mclu/mclu.conf',
  ]);
  assert.deepEqual(configCandidates({ HOME: '/home/u' }, '/w'), [
    '/w/mclu.conf',
    '/home/u/.config/mclu/mclu.conf',
    '/etc/mclu/mclu.conf',
  ]);
});

void test("every mclu ssh starts with libvirt's options: ssh_config, batch mode, the timeout", () => {
  const { defaults } = parseConfig(
    '[defaults]\nssh_config = "ssh_config"\nconnect_timeout = 2.5\nssh_connection_sharing = false\n[nodes.a]\nhost = "a"\n',
    '/etc/mclu/mclu.conf',
  );
  const base = ['-F', '/etc/mclu/ssh_config', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3'];
  assert.deepEqual(sshOptions(defaults), base);
  const sshControlDir = mkdtempSync(join(tmpdir(), 'mclu-ssh-'));
  try {
    const shared = sshOptions({ ...defaults, sshConnectionSharing: true, sshControlDir });
    assert.deepEqual(shared.slice(0, base.length), base);
    assert.ok(shared.includes('ControlMaster=auto'), shared.join(' '));
  } finally {
    rmSync(sshControlDir, { recursive: true });
  }
});
