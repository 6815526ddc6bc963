/**
 * What goes wrong, and how it is reported: daemon not running, ssh refused, bad ssh
 * authentication, unknown domain, daemon unresponsive (connect timeout, keepalive timeout),
 * connection dropped with calls in flight. Nothing may hang: every wait here is bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import type { Cluster, ClusterNode } from '@tsvirt/testcluster';
import { LibvirtError, LibvirtTransportError, connect } from '../../src/index.js';
import { ADDRESS_PREFIX, sshOptions, startTestCluster } from '../support/cluster.js';

const run = promisify(execFile);
/** node1's address as it appears in messages, for the regular expressions below. */
const NODE1 = `${ADDRESS_PREFIX}11`.replace(/\./g, '\\.');
let cluster: Cluster;
let node: ClusterNode;
let offNode: ClusterNode;
let scratch: string;

before(async () => {
  cluster = await startTestCluster('fail', 1, 1);
  [node, offNode] = cluster.nodes as [ClusterNode, ClusterNode];
  scratch = mkdtempSync(join(tmpdir(), 'tsvirt-libvirt-fail-'));
});
after(async () => {
  try {
    process.kill(node.libvirtdPid, 'SIGCONT');
  } catch {
    // already gone (the last test kills it)
  }
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function transportError(code: string, message: RegExp | string) {
  return (e: unknown): boolean => {
    assert.ok(
      e instanceof LibvirtTransportError,
      `expected LibvirtTransportError, got ${String(e)}`,
    );
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  };
}

void it('daemon not running: the socket does not exist (off node)', async () => {
  await assert.rejects(
    connect(offNode.unixUri),
    transportError(
      'ENOENT',
      /^libvirt socket .*libvirt-sock does not exist: is libvirtd running\?$/,
    ),
  );
});

void it('daemon not running: nothing listens on the TCP port', async () => {
  await assert.rejects(
    connect(`qemu+tcp://${node.address}:1/system`),
    transportError('ECONNREFUSED', `connection refused by ${node.address}:1: is libvirtd running?`),
  );
});

void it("ssh refused: the error is ssh's own line", async () => {
  await assert.rejects(
    connect(offNode.uri, sshOptions(cluster)),
    transportError(
      'SSH_FAILED',
      `ssh: connect to host ${offNode.address} port 22: Connection refused`,
    ),
  );
});

void it('bad ssh authentication: a key the node does not accept', async () => {
  const key = join(scratch, 'wrong_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await assert.rejects(
    connect(node.uri, {
      ssh: {
        configFile: '/dev/null',
        extraArgs: [
          '-i',
          key,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'IdentityAgent=none',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'LogLevel=ERROR',
        ],
      },
    }),
    transportError(
      'SSH_FAILED',
      new RegExp(`^root@${NODE1}: Permission denied \\(publickey\\)\\.$`),
    ),
  );
});

void it('a bad URI is refused before anything is started', async () => {
  await assert.rejects(
    connect('qemu+tls://host/system'),
    transportError('INVALID_URI', /TLS is not implemented/),
  );
  await assert.rejects(
    connect('not a uri'),
    transportError('INVALID_URI', /cannot parse libvirt URI/),
  );
});

void it('unknown domain: a LibvirtError with libvirt code, domain and message', async () => {
  const conn = await connect(node.uri, sshOptions(cluster));
  try {
    await assert.rejects(conn.lookupDomainByName('ghost'), (e: unknown) => {
      assert.ok(e instanceof LibvirtError);
      assert.equal(e.code, 42);
      assert.equal(e.codeName, 'VIR_ERR_NO_DOMAIN');
      assert.equal(e.domain, 10); // VIR_FROM_QEMU
      assert.equal(e.procedure, 'DOMAIN_LOOKUP_BY_NAME');
      assert.equal(e.message, "Domain not found: no domain with matching name 'ghost'");
      return true;
    });
    assert.equal((await conn.getHostname()).length > 0, true, 'the connection is still usable');
  } finally {
    await conn.close();
  }
});

void it('unresponsive daemon: connect times out, keepalive gives a live connection up', async () => {
  const conn = await connect(node.unixUri, { keepalive: { intervalMs: 200, count: 3 } });
  let closedWith: LibvirtTransportError | null = null;
  conn.onClose((e) => {
    closedWith = e;
  });
  const quiet = await connect(node.unixUri, { keepalive: false });
  process.kill(node.libvirtdPid, 'SIGSTOP');
  try {
    await assert.rejects(
      connect(node.unixUri, { connectTimeoutMs: 1000 }),
      transportError('TIMEOUT', `timed out after 1 s connecting to ${node.unixUri}`),
    );
    await assert.rejects(conn.getHostname(), transportError('TIMEOUT', /keepalive timeout/));
    assert.equal(closedWith !== null, true, 'onClose was told');
    await assert.rejects(conn.getNodeInfo(), transportError('TIMEOUT', /keepalive timeout/));
    // close() does not wait for ever for a daemon that does not answer.
    await quiet.close();
  } finally {
    process.kill(node.libvirtdPid, 'SIGCONT');
  }
  await conn.close(); // closing a dead connection is fine
});

void it('connection dropped mid-call: pending calls on unix and ssh reject, nothing hangs', async () => {
  const unix = await connect(node.unixUri, { keepalive: false });
  const ssh = await connect(node.uri, sshOptions(cluster, { keepalive: false }));
  process.kill(node.libvirtdPid, 'SIGSTOP');
  const pending = [unix.getNodeInfo(), unix.listAllDomains(), ssh.getNodeInfo(), ssh.getHostname()];
  await sleep(300);
  process.kill(node.libvirtdPid, 'SIGKILL');
  const results = await Promise.allSettled(pending);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const e = r.reason as unknown;
    assert.ok(e instanceof LibvirtTransportError, String(e));
    assert.equal(e.code, 'CLOSED');
  }
  assert.match(
    ((results[0] as PromiseRejectedResult).reason as Error).message,
    /^connection to .*libvirt-sock (closed|lost \(reset by the peer\))$/,
  );
  assert.match(
    ((results[2] as PromiseRejectedResult).reason as Error).message,
    new RegExp(`^connection to root@${NODE1} lost: virt-ssh-helper: `),
  );
  // And with the daemon gone, a new connection says so, locally and through ssh.
  await assert.rejects(
    connect(node.unixUri),
    transportError('ECONNREFUSED', /is libvirtd running\?/),
  );
  await assert.rejects(
    connect(node.uri, sshOptions(cluster)),
    transportError(
      'ECONNREFUSED',
      new RegExp(
        `^libvirtd is not running on root@${NODE1} \\(virt-ssh-helper: cannot connect to `,
      ),
    ),
  );
  await assert.rejects(
    connect(node.uri, sshOptions(cluster, { ssh: { helper: 'netcat' } })),
    transportError(
      'ECONNREFUSED',
      new RegExp(`^libvirtd is not running on root@${NODE1} \\(nc: .*Connection refused\\)$`),
    ),
  );
  await unix.close();
  await ssh.close();
});
