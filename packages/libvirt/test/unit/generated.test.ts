// The generated layer holds together: every procedure accounted for once, a method for each
// that has one, event tables complete and decoding what the daemon sends, enumerations with
// libvirt's numbers, typed parameters both ways.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@tsvirt/xdr';
import {
  DomainEventId,
  DomainEventType,
  ErrorCode,
  LibvirtConnection,
  MigrateFlags,
  PROTOCOL_COVERAGE,
  Proc,
  StorageVolUploadFlags,
  errorCodeName,
  fromTypedParams,
  toTypedParams,
} from '../../src/index.js';
import { DOMAIN_EVENTS, NETWORK_EVENTS } from '../../src/events.generated.js';
import { EVENT_TABLES } from '../../src/events.js';
import { RemoteProcedures } from '../../src/methods.generated.js';
import * as x from '../../src/protocol/remote.generated.js';

const dom = { name: 'web1', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 3 };

void describe('the generated protocol layer', () => {
  void it('accounts for every procedure of remote_protocol.x exactly once', () => {
    const c = PROTOCOL_COVERAGE;
    const notGenerated = Object.keys(c.notGenerated).length;
    assert.equal(
      c.methods + c.eventMessages + notGenerated + c.unusedEventMessages.length,
      c.procedures,
    );
    assert.equal(c.procedures, Object.keys(x.RemoteProcedureNumber).length);
    const numbers = Object.values(Proc).map((p) => p.number);
    assert.equal(new Set(numbers).size, numbers.length, 'procedure numbers are unique');
    assert.equal(numbers.length + c.eventMessages + c.unusedEventMessages.length, c.procedures);
  });

  void it('has one method per generated procedure, on the connection', () => {
    const methods = Object.getOwnPropertyNames(RemoteProcedures.prototype).filter(
      (n) => n !== 'constructor',
    );
    assert.equal(methods.length, PROTOCOL_COVERAGE.methods);
    for (const m of methods)
      assert.equal(
        typeof (LibvirtConnection.prototype as unknown as Record<string, unknown>)[m],
        'function',
        m,
      );
    assert.ok(methods.includes('domainGetXmlDesc') && methods.includes('connectListAllNwFilters'));
  });

  void it('has an event table entry for every event ID of every family', () => {
    const ids = Object.values(DomainEventId).sort((a, b) => a - b);
    assert.deepEqual(
      Object.values(DOMAIN_EVENTS)
        .map((e) => e.id)
        .sort((a, b) => a - b),
      ids,
    );
    const total = Object.values(EVENT_TABLES).reduce((n, t) => n + Object.keys(t).length, 0);
    assert.equal(total, PROTOCOL_COVERAGE.eventMessages);
  });

  void it('decodes event messages into typed events', () => {
    const lifecycle = DOMAIN_EVENTS.lifecycle.decode(
      encode(x.domainEventCallbackLifecycleMsg, {
        callbackID: 7,
        msg: { dom, event: DomainEventType.STARTED, detail: 1 },
      }),
    );
    assert.deepEqual(lifecycle, { callbackID: 7, event: { domain: dom, event: 2, detail: 1 } });
    // PM suspend: the reason sits outside the nested message.
    const pm = DOMAIN_EVENTS.pmsuspend.decode(
      encode(x.domainEventCallbackPmsuspendMsg, { callbackID: 1, reason: 0, msg: { dom } }),
    );
    assert.deepEqual(pm.event, { domain: dom, reason: 0 });
    const tunable = DOMAIN_EVENTS.tunable.decode(
      encode(x.domainEventCallbackTunableMsg, {
        callbackID: 2,
        dom,
        params: toTypedParams({ 'cputune.cpu_shares': 512n, 'cputune.vcpupin0': '0-1' }),
      }),
    );
    assert.deepEqual(
      tunable.event.params,
      new Map<string, unknown>([
        ['cputune.cpu_shares', 512n],
        ['cputune.vcpupin0', '0-1'],
      ]),
    );
    const graphics = DOMAIN_EVENTS.graphics.decode(
      encode(x.domainEventCallbackGraphicsMsg, {
        callbackID: 3,
        msg: {
          dom,
          phase: 0,
          local: { family: 0, node: '127.0.0.1', service: '5900' },
          remote: { family: 0, node: '127.0.0.2', service: '41000' },
          authScheme: 'none',
          subject: [{ type: 'x509dname', name: 'CN=me' }],
        },
      }),
    );
    assert.equal(graphics.event.remote.service, '41000');
    assert.deepEqual(graphics.event.subject, [{ type: 'x509dname', name: 'CN=me' }]);
    const network = NETWORK_EVENTS.lifecycle.decode(
      encode(x.networkEventLifecycleMsg, {
        callbackID: 4,
        net: { name: 'default', uuid: dom.uuid },
        event: 0,
        detail: 0,
      }),
    );
    assert.equal(network.event.network.name, 'default');
  });
});

void describe('enumerations and error codes from libvirt-api.xml', () => {
  void it("carry libvirt's numbers and names", () => {
    assert.equal(MigrateFlags.PEER2PEER, 2);
    assert.equal(MigrateFlags.NON_SHARED_SYNCHRONOUS_WRITES, 262144);
    assert.equal(StorageVolUploadFlags.SPARSE_STREAM, 1);
    assert.equal(ErrorCode.NO_DOMAIN, 42);
    assert.equal(ErrorCode.NO_NETWORK_WARNING, 41);
    assert.equal(errorCodeName(42), 'VIR_ERR_NO_DOMAIN');
    assert.equal(errorCodeName(41), 'VIR_WAR_NO_NETWORK');
    assert.equal(errorCodeName(9999), 'VIR_ERR_UNKNOWN_9999');
  });
});

void describe('typed parameters', () => {
  void it('take the documented type of a known field, or the one the value suggests', () => {
    const wire = toTypedParams({
      bandwidth: 100, // documented as an unsigned long long
      weight: 500, // documented as a uint
      'my.int': -3,
      'my.big': 1n << 40n,
      'my.negative': -(1n << 40n),
      'my.double': 0.5,
      'my.flag': true,
      'my.text': 'x',
      'my.typed': { type: 'uint', value: 7 },
      migrate_disks: ['vda', 'vdb'],
    });
    assert.deepEqual(
      wire.map((p) => [p.field, p.value.tag]),
      [
        ['bandwidth', 4],
        ['weight', 2],
        ['my.int', 1],
        ['my.big', 4],
        ['my.negative', 3],
        ['my.double', 5],
        ['my.flag', 6],
        ['my.text', 7],
        ['my.typed', 2],
        ['migrate_disks', 7],
        ['migrate_disks', 7],
      ],
    );
    assert.equal(wire[0]!.value.value, 100n);
    assert.equal(wire[6]!.value.value, 1, 'booleans go as ints');
    assert.deepEqual(
      fromTypedParams(wire),
      new Map<string, unknown>([
        ['bandwidth', 100n],
        ['weight', 500],
        ['my.int', -3],
        ['my.big', 1n << 40n],
        ['my.negative', -(1n << 40n)],
        ['my.double', 0.5],
        ['my.flag', true],
        ['my.text', 'x'],
        ['my.typed', 7],
        ['migrate_disks', 'vdb'],
      ]),
    );
  });

  void it('refuse a value that does not fit its type, naming the field', () => {
    assert.throws(
      () => toTypedParams({ bandwidth: 'fast' }),
      /typed parameter bandwidth: string fast is not a valid ullong/,
    );
    assert.throws(
      () => toTypedParams({ x: { type: 'boolean', value: 'yes' as unknown as boolean } }),
      /typed parameter x/,
    );
  });

  void it('go on the wire as remote_typed_param', () => {
    const bytes = encode(x.typedParam, toTypedParams({ y: 'z' })[0]!);
    assert.equal(
      Buffer.from(bytes).toString('hex'),
      '00000001790000000000000700000001' + '7a000000',
    );
  });
});
