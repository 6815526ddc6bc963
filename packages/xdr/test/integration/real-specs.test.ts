// The compiler on the real specifications it exists for: libvirt's remote protocol (issue 17)
// and libguestfs's daemon protocol, from Debian's source packages (fetched once by
// scripts/debian-source and cached under /var/tmp).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Codec, decode, encode } from '../../src/index.js';
import { parseXdr } from '../../src/xdrgen/index.js';
import { loadGenerated, typeCheck } from '../support/generated.js';

const repo = join(import.meta.dirname, '../../../../..');
const work = mkdtempSync(join(tmpdir(), 'xdrgen-real-'));
after(() => rmSync(work, { recursive: true, force: true }));

function debianSource(pkg: string): string {
  return execFileSync(join(repo, 'scripts/debian-source'), [pkg], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

/** libvirt takes these from its C headers (libvirt.h, libvirt-domain.h). */
export const LIBVIRT_HEADER_CONSTANTS = {
  VIR_UUID_BUFLEN: 16,
  VIR_SECURITY_MODEL_BUFLEN: 257,
  VIR_SECURITY_LABEL_BUFLEN: 4097,
  VIR_SECURITY_DOI_BUFLEN: 257,
  VIR_TYPED_PARAM_INT: 1,
  VIR_TYPED_PARAM_UINT: 2,
  VIR_TYPED_PARAM_LLONG: 3,
  VIR_TYPED_PARAM_ULLONG: 4,
  VIR_TYPED_PARAM_DOUBLE: 5,
  VIR_TYPED_PARAM_BOOLEAN: 6,
  VIR_TYPED_PARAM_STRING: 7,
};

function compileAndLoad(
  file: string,
  constants: Record<string, number> = {},
): Promise<{ code: string; module: Record<string, unknown> }> {
  return loadGenerated(readFileSync(file, 'utf8'), work, { file, constants });
}

void describe("libvirt's remote_protocol.x (Debian 12, libvirt 9.0.0)", () => {
  const src = debianSource('libvirt');
  const remote = join(src, 'src/remote/remote_protocol.x');

  void it('parses every procedure with its annotations', () => {
    const spec = parseXdr(readFileSync(remote, 'utf8'), remote);
    const procedures = spec.definitions.find((d) => d.name === 'remote_procedure');
    assert.ok(procedures?.kind === 'enum');
    assert.ok(procedures.members.length > 440, `${procedures.members.length} procedures`);
    const open = procedures.members.find((m) => m.name === 'REMOTE_PROC_CONNECT_OPEN');
    assert.deepEqual(open?.value, { kind: 'number', value: 1 });
    // The annotations libvirt's own generator reads are kept with each member.
    assert.match(open?.comment ?? '', /@generate: none/);
  });

  void it('compiles to codecs that encode the wire layout and type-check', async () => {
    const { code, module } = await compileAndLoad(remote, LIBVIRT_HEADER_CONSTANTS);
    const nodeInfo = module['remoteNodeGetInfoRet'] as Codec<Record<string, unknown>>;
    const value = {
      model: [...'x86_64'].map((c) => c.charCodeAt(0)).concat(Array<number>(26).fill(0)),
      memory: 16n << 20n,
      cpus: 2,
      mhz: 2000,
      nodes: 1,
      sockets: 1,
      cores: 2,
      threads: 1,
    };
    const bytes = encode(nodeInfo, value);
    assert.equal(bytes.byteLength, 32 * 4 + 8 + 6 * 4);
    assert.deepEqual(decode(nodeInfo, bytes), value);
    const param = module['remoteTypedParam'] as Codec<unknown>;
    const p = { field: 'x', value: { tag: 7, value: 'y' } };
    assert.equal(
      Buffer.from(encode(param, p)).toString('hex'),
      '00000001780000000000000700000001' + '79000000',
    );
    assert.deepEqual(typeCheck(work, { 'remote.ts': code }), []);
  });

  void it('compiles the RPC framing definition too', async () => {
    const { module } = await compileAndLoad(join(src, 'src/rpc/virnetprotocol.x'), {
      VIR_UUID_BUFLEN: 16,
    });
    const header = module['virNetMessageHeader'] as Codec<unknown>;
    const h = { prog: 0x20008086, vers: 1, proc: 1, type: 0, serial: 7, status: 0 };
    assert.equal(encode(header, h).byteLength, 24);
  });
});

void describe("libguestfs's guestfs_protocol.x (Debian 12, libguestfs 1.48.6)", () => {
  const src = debianSource('libguestfs');
  const file = join(src, 'common/protocol/guestfs_protocol.x');

  void it('compiles, type-checks, and encodes the message header in 40 bytes', async () => {
    const { code, module } = await compileAndLoad(file);
    assert.equal(module['GUESTFS_PROGRAM'], 0x2000f5f5);
    assert.equal(module['GUESTFS_MAX_PROC_NR'], 510);
    const procedures = module['GuestfsProcedure'] as Record<string, number>;
    assert.equal(Object.keys(procedures).length, 492);
    const header = module['guestfsMessageHeader'] as Codec<unknown>;
    const bytes = encode(header, {
      prog: 0x2000f5f5,
      vers: 4,
      proc: 195,
      direction: 0,
      serial: 1,
      progress_hint: 0n,
      optargs_bitmask: 0n,
      status: 0,
    });
    assert.equal(bytes.byteLength, 40);
    assert.deepEqual(typeCheck(work, { 'guestfs.ts': code }), []);
  });
});
