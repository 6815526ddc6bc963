// STARTTLS with X.509 certificates and with pre-shared keys, checked with nbdinfo and
// qemu-img (GnuTLS clients).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captive, requireTools, tempDir } from '../helpers.js';

requireTools('nbdinfo', 'qemu-img', 'openssl');

void describe('TLS', () => {
  const tmp = tempDir();
  const certs = join(tmp.dir, 'certs');
  const pskDir = join(tmp.dir, 'psk');
  const pskFile = join(pskDir, 'keys.psk');
  before(() => {
    mkdirSync(certs);
    mkdirSync(pskDir);
    const ssl = (...args: string[]) =>
      execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca-cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=tsnbd test CA',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server-key.pem',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(
      join(certs, 'ext.cnf'),
      'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
    );
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca-cert.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      'server-cert.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
    // A client certificate, for --tls-verify-peer.
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'client-key.pem',
      '-out',
      'client.csr',
      '-subj',
      '/CN=client',
    );
    writeFileSync(
      join(certs, 'client.cnf'),
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    );
    ssl(
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca-cert.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      'client-cert.pem',
      '-days',
      '2',
      '-extfile',
      'client.cnf',
    );
    mkdirSync(join(tmp.dir, 'no-client-cert'));
    writeFileSync(
      join(tmp.dir, 'no-client-cert', 'ca-cert.pem'),
      readFileSync(join(certs, 'ca-cert.pem')),
    );
    // psktool's format: identity:hexkey.
    writeFileSync(pskFile, `alice:${randomBytes(32).toString('hex')}\n`);
  });
  after(() => tmp.cleanup());

  void it('X.509: nbdinfo and qemu-img connect with TLS', async () => {
    const r = await captive(
      'tsnbd',
      ['--tls=require', `--tls-certificates=${certs}`, 'memory', '1M'],
      `nbdinfo "nbds+unix:///?socket=$unixsocket&tls-certificates=${certs}" && ` +
        `qemu-img info --object tls-creds-x509,id=tls0,dir=${certs},endpoint=client ` +
        `--image-opts driver=nbd,path=$unixsocket,tls-creds=tls0,tls-hostname=localhost`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /newstyle-fixed with TLS/);
    assert.match(r.stdout, /virtual size: 1 MiB/);
  });

  void it('PSK: nbdinfo and qemu-img connect with a pre-shared key', async () => {
    const r = await captive(
      'tsnbd',
      ['--tls=require', `--tls-psk=${pskFile}`, 'memory', '1M'],
      `nbdinfo "nbds+unix://alice@/?socket=$unixsocket&tls-psk-file=${pskFile}" && ` +
        `qemu-img info --object tls-creds-psk,id=tls0,dir=${pskDir},username=alice,endpoint=client ` +
        `--image-opts driver=nbd,path=$unixsocket,tls-creds=tls0`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /newstyle-fixed with TLS/);
    assert.match(r.stdout, /virtual size: 1 MiB/);
  });

  void it('--tls=require refuses clients without TLS; --tls=on allows them', async () => {
    const refused = await captive(
      'tsnbd',
      ['--tls=require', `--tls-psk=${pskFile}`, 'memory', '1M'],
      'nbdinfo "nbd+unix:///?socket=$unixsocket"',
    );
    assert.notEqual(refused.code, 0);
    const allowed = await captive(
      'tsnbd',
      ['--tls=on', `--tls-psk=${pskFile}`, 'memory', '1M'],
      'nbdinfo "nbd+unix:///?socket=$unixsocket"',
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /without TLS/);
  });

  void it('--tls-verify-peer accepts a client certificate signed by the CA, and only that', async () => {
    const args = [
      '--tls=require',
      `--tls-certificates=${certs}`,
      '--tls-verify-peer',
      'memory',
      '1M',
    ];
    const ok = await captive(
      'tsnbd',
      args,
      `nbdinfo --size "nbds+unix:///?socket=$unixsocket&tls-certificates=${certs}"`,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), String(1 << 20));
    const noCert = join(tmp.dir, 'no-client-cert');
    const refused = await captive(
      'tsnbd',
      args,
      `nbdinfo --size "nbds+unix:///?socket=$unixsocket&tls-certificates=${noCert}"`,
    );
    assert.notEqual(refused.code, 0);
  });

  void it('a wrong key fails the handshake', async () => {
    const wrong = join(tmp.dir, 'wrong.psk');
    writeFileSync(wrong, `alice:${randomBytes(32).toString('hex')}\n`);
    const r = await captive(
      'tsnbd',
      ['--tls=require', `--tls-psk=${pskFile}`, 'memory', '1M'],
      `nbdinfo "nbds+unix://alice@/?socket=$unixsocket&tls-psk-file=${wrong}"`,
    );
    assert.notEqual(r.code, 0);
  });
});
