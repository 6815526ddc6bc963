// TLS for STARTTLS: X.509 certificates from a directory laid out as nbdkit expects
// (ca-cert.pem, server-cert.pem, server-key.pem) or pre-shared keys from a psktool file
// (`identity:hexkey` lines). Node supports PSK only up to TLS 1.2, so PSK sessions use it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocketOptions } from 'node:tls';
import { ConfigError } from '../errors.js';

export function certificateOptions(dir: string, verifyPeer: boolean): TLSSocketOptions {
  const file = (name: string) => join(dir, name);
  for (const name of ['server-cert.pem', 'server-key.pem']) {
    if (!existsSync(file(name))) {
      throw new ConfigError(`--tls-certificates=${dir}: ${name} is missing`);
    }
  }
  const ca = existsSync(file('ca-cert.pem')) ? readFileSync(file('ca-cert.pem')) : undefined;
  return {
    cert: readFileSync(file('server-cert.pem')),
    key: readFileSync(file('server-key.pem')),
    ...(ca ? { ca } : {}),
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer,
  };
}

export function readPskFile(path: string): Map<string, Buffer> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--tls-psk=${path}: ${(err as Error).message}`);
  }
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([^:]+):([0-9a-fA-F]+)\s*$/.exec(line);
    if (!m) throw new ConfigError(`--tls-psk=${path}: line ${i + 1} is not identity:hexkey`);
    keys.set(m[1]!, Buffer.from(m[2]!, 'hex'));
  });
  if (keys.size === 0) throw new ConfigError(`--tls-psk=${path}: no keys`);
  return keys;
}

export function pskOptions(keys: Map<string, Buffer>): TLSSocketOptions {
  return {
    pskCallback: (_socket: unknown, identity: string) => keys.get(identity) ?? null,
    ciphers: 'PSK:ECDHE-PSK:DHE-PSK:!aNULL',
    maxVersion: 'TLSv1.2',
  } as TLSSocketOptions;
}
