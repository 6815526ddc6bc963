// tsnbd on another CPU: Node.js for s390x (big-endian, a syscall table unlike x86-64's)
// under qemu-user, through scripts/foreign-arch. The file plugin must punch holes and
// find them there as on the host, and the pattern plugin must serve nbdkit's bytes. (The
// unit suites run on s390x and arm64 in the platforms tier of scripts/run-tests.mjs.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import which from 'which';
import { TSNBD, captive, requireTools, run, tempDir, type Run } from '../helpers.js';

requireTools('qemu-io', 'nbdinfo', 'nbdcopy');

const FOREIGN_ARCH = resolve(TSNBD, '../../../../../../scripts/foreign-arch');

/** scripts/foreign-arch s390x ARGS..., outside this test runner's own child protocol. */
function onS390x(args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // else the foreign node reports to us in the runner's format
  return run(FOREIGN_ARCH, ['s390x', ...args], 300_000, env);
}
const hasQemuUser = which.sync('qemu-s390x-static', { nothrow: true }) !== null;
const skip = hasQemuUser
  ? false
  : 'qemu-user-static is not installed (scripts/install-debian-packages)';

void describe('on s390x under qemu-user', { skip }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  void it('the file plugin punches holes and maps them as on the host', async () => {
    const edits =
      `qemu-io -f raw -c 'discard 1M 1M' -c 'write -z 3M 512k' -c 'write -z -u 0 64k' "$uri" >/dev/null && ` +
      'nbdinfo --map "$uri" && nbdcopy "$uri" - | sha256sum';
    const data = randomBytes(4 << 20);
    const serve = async (where: 'host' | 's390x') => {
      const file = join(tmp.dir, `${where}.img`);
      writeFileSync(file, data);
      // On disk before the edits: ext4 maps a ZERO_RANGE over pages still dirty as data and
      // over written-back ones as a hole, so the map would depend on how slow the run is.
      execFileSync('sync', [file]);
      const args = [TSNBD, '-U', '-', 'file', file, '--run', edits];
      const r =
        where === 'host'
          ? await captive('tsnbd', ['file', file], edits)
          : await onS390x(['node', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return { out: r.stdout, allocated: statSync(file).blocks * 512 };
    };
    const s390x = await serve('s390x');
    const host = await serve('host');
    assert.match(s390x.out, /^\s+1048576\s+1048576\s+3\s+hole,zero$/m);
    assert.equal(s390x.out, host.out);
    assert.ok(
      s390x.allocated <= 3 << 20, // 4 MiB less the discarded 1 MiB (and 64 KiB, less metadata)
      `the holes are really punched: ${s390x.allocated} bytes allocated`,
    );
    assert.equal(s390x.allocated, host.allocated);
  });

  void it("the pattern plugin's bytes, read by the host's nbdcopy, are nbdkit's", async () => {
    // Big-endian words of their own offset: a byte-order slip in the plugin or in the
    // server's replies changes every word. The size ends inside a word and is more than one
    // request, so the last, partial word and the splitting are compared too.
    const size = String((8 << 20) + 4099);
    const read = 'nbdinfo --size "$uri" && nbdcopy "$uri" - | sha256sum';
    const plugin = ['pattern', `size=${size}`];
    const s390x = await onS390x(['node', TSNBD, '-U', '-', ...plugin, '--run', read]);
    const nbdkit = await captive('nbdkit', plugin, read);
    assert.equal(s390x.code, 0, s390x.stderr);
    assert.equal(nbdkit.code, 0, nbdkit.stderr);
    assert.match(s390x.stdout, new RegExp(`^${size}\\n[0-9a-f]{64}  -\\n$`));
    assert.equal(s390x.stdout, nbdkit.stdout);
  });
});
