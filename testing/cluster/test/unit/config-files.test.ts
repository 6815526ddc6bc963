import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import {
  clusterSshConfig,
  knownHostsLine,
  libvirtdConf,
  macFromAddress,
  mcluConf,
  qemuConf,
  sshdConfig,
  nodeUsers,
} from '../../src/config-files.js';

void test('mclu.conf is TOML with the defaults and one table per node', () => {
  const text = mcluConf({
    clusterName: 't',
    templatesDir: '/x/templates',
    sshConfig: '/var/tmp/c "q"/ssh_config',
    poweroffCommand: 'sh /etc/libvirt/tsvirt-poweroff',
    wolAddress: '127.0.1.1:9',
    accel: { domainType: 'qemu', source: 'cached', reason: 'KVM probe: no boot marker' },
    nodes: [
      { name: 'node1', sshDestination: 'root@127.0.1.11', macAddress: '02:00:7f:00:01:0b' },
      { name: 'node2', sshDestination: 'root@127.0.1.12', macAddress: '02:00:7f:00:01:0c' },
    ],
  });
  const doc = parse(text) as {
    defaults: Record<string, unknown>;
    nodes: Record<string, Record<string, unknown>>;
  };
  assert.equal(doc.defaults['domain_type'], 'qemu');
  assert.match(text, /^# Software emulation \(TCG\): KVM probe: no boot marker$/m);
  assert.match(text, /^# Force with TSVIRT_CLUSTER_ACCEL=tcg\|kvm/m);
  assert.deepEqual(doc.defaults['templates'], ['/x/templates']);
  assert.equal(doc.defaults['ssh_config'], '/var/tmp/c "q"/ssh_config');
  assert.deepEqual(Object.keys(doc.nodes), ['node1', 'node2']);
  assert.deepEqual(
    { ...doc.nodes['node2'] },
    {
      host: 'root@127.0.1.12',
      mac: '02:00:7f:00:01:0c',
      wol_address: '127.0.1.1:9',
    },
  );
});

void test('each node gets its own host UUID and migration address', () => {
  assert.match(
    libvirtdConf('0b7e5d6a-1111-2222-3333-444455556666'),
    /^host_uuid = "0b7e5d6a-1111-2222-3333-444455556666"$/m,
  );
  const qemu = qemuConf('127.0.1.12');
  assert.match(qemu, /^migration_host = "127\.0\.1\.12"$/m);
  assert.match(qemu, /^migration_address = "127\.0\.1\.12"$/m);
  assert.match(qemu, /^user = "root"$/m);
});

void test('sshd listens on the node address only, with its own key and pid file', () => {
  const text = sshdConfig('127.0.1.13', { hostKey: '/k', pidFile: '/p' });
  assert.match(text, /^ListenAddress 127\.0\.1\.13:22$/m);
  assert.match(text, /^HostKey \/k$/m);
  assert.match(text, /^PidFile \/p$/m);
  assert.match(text, /^PasswordAuthentication no$/m);
});

void test('the host ssh config covers every node, off ones too', () => {
  const text = clusterSshConfig(['127.0.1.11', '127.0.1.14'], '/c/id', '/c/kh');
  assert.match(text, /^Host 127\.0\.1\.11 127\.0\.1\.14$/m);
  assert.match(text, /^ {2}IdentityFile \/c\/id$/m);
  assert.match(text, /^ {2}UserKnownHostsFile \/c\/kh$/m);
  assert.match(text, /^ {2}BatchMode yes$/m);
  assert.equal(
    knownHostsLine('127.0.1.11', 'ssh-ed25519 AAAAC3 node1\n'),
    '127.0.1.11 ssh-ed25519 AAAAC3\n',
  );
});

void test('MAC addresses are locally administered and follow the address', () => {
  assert.equal(macFromAddress('127.0.1.11'), '02:00:7f:00:01:0b');
  assert.equal(macFromAddress('127.0.0.255'), '02:00:7f:00:00:ff');
});

void test('libvirt-qemu is added to passwd and group only when missing', () => {
  const added = nodeUsers('root:x:0:0::/root:/bin/sh\n', 'root:x:0:\nkvm:x:107:\n');
  assert.match(added.passwd, /^libvirt-qemu:x:64055:64055:/m);
  assert.match(added.group, /^libvirt-qemu:x:64055:$/m);
  assert.equal(added.group.match(/^kvm:/gm)?.length, 1);
  const again = nodeUsers(added.passwd, added.group);
  assert.deepEqual(again, added);
});

void test("root's login shell on a node is /bin/sh, whatever the host's is", () => {
  const users = nodeUsers(
    'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n',
    'root:x:0:\n',
  );
  assert.match(users.passwd, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
  assert.match(users.passwd, /^alice:x:1000:1000::\/home\/alice:\/bin\/bash$/m);
});
