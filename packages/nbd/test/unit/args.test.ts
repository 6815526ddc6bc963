import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine } from '../../src/cli/args.js';
import { ConfigError } from '../../src/errors.js';

void describe('tsnbd command line parsing', () => {
  void it('reads nbdkit-shaped command lines', () => {
    const cl = parseCommandLine([
      '-U',
      '-',
      '-r',
      '--filter=cow',
      '--filter',
      'offset',
      '-e',
      'disk',
      'file',
      'disk.img',
      'offset=1M',
      '--run',
      'qemu-img info $uri',
    ]);
    assert.equal(cl.unixSocket, '-');
    assert.equal(cl.readonly, true);
    assert.deepEqual(cl.filters, ['cow', 'offset']);
    assert.equal(cl.exportName, 'disk');
    assert.equal(cl.plugin, 'file');
    assert.deepEqual(cl.params, [
      { key: undefined, value: 'disk.img' },
      { key: 'offset', value: '1M' },
    ]);
    assert.equal(cl.run, 'qemu-img info $uri');
  });

  void it('treats values with = but no key-like prefix as magic values', () => {
    const cl = parseCommandLine(['data', '@4 "a=b"']);
    assert.deepEqual(cl.params, [{ key: undefined, value: '@4 "a=b"' }]);
  });

  void it('accepts glued short options and TLS options', () => {
    const cl = parseCommandLine(['-p10809', '--tls=require', '--tls-psk=/k', 'null']);
    assert.equal(cl.port, 10809);
    assert.equal(cl.tls, 'require');
    assert.equal(cl.tlsPsk, '/k');
  });

  void it('rejects bad values with a ConfigError naming them', () => {
    assert.throws(() => parseCommandLine(['-p', 'x', 'null']), ConfigError);
    assert.throws(() => parseCommandLine(['--tls=maybe', 'null']), /--tls=maybe/);
    assert.throws(() => parseCommandLine(['--nope', 'null']), /unknown option --nope/);
    assert.throws(() => parseCommandLine(['-U']), /-U needs a value/);
    assert.throws(() => parseCommandLine(['--workers=0', 'null']), /--workers=0: expected/);
  });

  void it("--workers is tsnbd's own option, apart from nbdkit's --threads", () => {
    const cl = parseCommandLine(['--workers', '3', '-t', '8', 'null']);
    assert.equal(cl.workers, 3);
    assert.equal(cl.threads, 8);
    assert.equal(parseCommandLine(['null']).workers, undefined, 'default: one per core');
  });

  void it('--busy-poll takes microseconds from 0 (off) to 1000', () => {
    assert.equal(parseCommandLine(['--busy-poll=0', 'null']).busyPoll, 0);
    assert.equal(parseCommandLine(['--busy-poll', '200', 'null']).busyPoll, 200);
    assert.equal(parseCommandLine(['null']).busyPoll, undefined);
    for (const bad of ['-1', '1001', '2.5', 'fast', '']) {
      assert.throws(
        () => parseCommandLine([`--busy-poll=${bad}`, 'null']),
        /--busy-poll=.*: expected a number from 0 to 1000/,
      );
    }
  });
});
