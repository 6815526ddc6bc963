import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LibvirtTransportError, errorCodeName, parseUri } from '../../src/index.js';
import { remoteCommand, sshArguments, sshFailureLine } from '../../src/transport/ssh.js';

void describe('parseUri', () => {
  void it('local URIs go to the default socket and open the same name', () => {
    assert.deepEqual(parseUri('qemu:///system'), {
      transport: 'unix',
      socket: '/var/run/libvirt/libvirt-sock',
      name: 'qemu:///system',
    });
    assert.equal(
      (parseUri('qemu:///system', true) as { socket: string }).socket,
      '/var/run/libvirt/libvirt-sock-ro',
    );
    assert.deepEqual(parseUri('test:///default'), {
      transport: 'unix',
      socket: '/var/run/libvirt/libvirt-sock',
      name: 'test:///default',
    });
  });
  void it('an explicit socket parameter is ours, not the daemon name', () => {
    assert.deepEqual(parseUri('qemu+unix:///system?socket=/tmp/s'), {
      transport: 'unix',
      socket: '/tmp/s',
      name: 'qemu:///system',
    });
  });
  void it('ssh URIs: user, host, port, keyfile, command, mode', () => {
    assert.deepEqual(
      parseUri('qemu+ssh://root@node1:2222/system?keyfile=/k&command=/bin/myssh&mode=netcat'),
      {
        transport: 'ssh',
        host: 'node1',
        user: 'root',
        port: 2222,
        keyFile: '/k',
        command: '/bin/myssh',
        socket: '/var/run/libvirt/libvirt-sock',
        helper: 'netcat',
        name: 'qemu:///system',
      },
    );
    const p = parseUri('qemu+ssh://[::1]/system');
    assert.equal(p.transport === 'ssh' && p.host, '::1');
    assert.equal(p.transport === 'ssh' && p.helper, 'auto');
  });
  void it('tcp URIs default to port 16509', () => {
    assert.deepEqual(parseUri('qemu+tcp://10.0.0.1/system'), {
      transport: 'tcp',
      host: '10.0.0.1',
      port: 16509,
      name: 'qemu:///system',
    });
  });
  void it('refuses what it cannot do, saying what would work', () => {
    for (const [uri, why] of [
      ['qemu://host/system', /transport 'tls' is not supported/],
      ['qemu+ssh:///system', /an ssh URI needs a host/],
      ['nonsense', /cannot parse libvirt URI/],
    ] as const) {
      assert.throws(
        () => parseUri(uri),
        (e: unknown) =>
          e instanceof LibvirtTransportError && e.code === 'INVALID_URI' && why.test(e.message),
      );
    }
  });
});

void describe('ssh transport', () => {
  const target = {
    host: 'node1',
    user: 'root',
    remoteUri: 'qemu:///system',
    remoteSocket: '/var/run/libvirt/libvirt-sock',
    helper: 'auto' as const,
  };
  void it('runs ssh in batch mode with the config, the extra arguments and the helper', () => {
    const args = sshArguments(target, {
      configFile: '/c',
      extraArgs: ['-i', '/k'],
      connectTimeoutMs: 2500,
    });
    assert.deepEqual(args.slice(0, 12), [
      '-F',
      '/c',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=3',
      '-l',
      'root',
      '-i',
      '/k',
      '-T',
      '-e',
    ]);
    assert.deepEqual(args.slice(12, 15), ['none', '--', 'node1']);
    assert.equal(args[15], remoteCommand(target));
  });
  void it('the remote command prefers virt-ssh-helper and falls back to nc -U', () => {
    assert.equal(
      remoteCommand(target),
      `sh -c 'if command -v virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper '\\''qemu:///system'\\''; else exec nc -U '\\''/var/run/libvirt/libvirt-sock'\\''; fi'`,
    );
    assert.equal(
      remoteCommand({ ...target, helper: 'netcat' }),
      `nc -U '/var/run/libvirt/libvirt-sock'`,
    );
    assert.equal(
      remoteCommand({ ...target, helper: 'virt-ssh-helper', remoteUri: "it's" }),
      `virt-ssh-helper 'it'\\''s'`,
    );
  });
  void it("takes ssh's own error line, not the known-hosts chatter", () => {
    assert.equal(
      sshFailureLine(
        "Warning: Permanently added '127.0.2.14' (ED25519) to the list of known hosts.\r\nssh: connect to host 127.0.2.14 port 22: Connection refused\r\n",
      ),
      'ssh: connect to host 127.0.2.14 port 22: Connection refused',
    );
    assert.equal(sshFailureLine(''), null);
  });
});

void describe('error codes', () => {
  void it('names codes as libvirt does', () => {
    assert.equal(errorCodeName(42), 'VIR_ERR_NO_DOMAIN');
    assert.equal(errorCodeName(55), 'VIR_ERR_OPERATION_INVALID');
    assert.equal(errorCodeName(41), 'VIR_WAR_NO_NETWORK');
    assert.equal(errorCodeName(9999), 'VIR_ERR_UNKNOWN_9999');
  });
});
