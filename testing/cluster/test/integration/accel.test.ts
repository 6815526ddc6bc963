// The KVM probe, for real: qemu boots the test guest image under KVM with a bounded timeout.
// Whatever this machine answers, the answer must be definite, carry its reason and agree
// with a direct look (the device, the console, a TCG boot through the same harness).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { bootGuest, ensureGuestImage, GUEST_MARKER, kvmUsable, probeKvm } from '../../src/index.js';
import { isAlive } from '../../src/processes.js';

let image = '';

/** Command lines of running probe qemus (their serial file is in a tsvirt-accel-probe- dir). */
function probeQemus(): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes('tsvirt-accel-probe-') ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

void test('the probe harness sees the test guest boot under TCG (so its "no" means something)', async (t) => {
  image = realpathSync(await ensureGuestImage());
  const boot = await bootGuest(image, 'tcg', 120_000);
  t.diagnostic(`TCG boot to the marker: ${boot.seconds.toFixed(1)} s: ${boot.detail}`);
  assert.equal(boot.booted, true, boot.detail);
  assert.match(boot.detail, new RegExp(`^${GUEST_MARKER} booted: kernel `));
  assert.equal(isAlive(boot.pid), false, 'the probe qemu is killed');
});

void test('the KVM probe gives a definite answer with its reason, and kills its qemu', async (t) => {
  const device = kvmUsable();
  const result = await probeKvm(image);
  t.diagnostic(
    `${device.why}; probe took ${result.seconds.toFixed(1)} s: works=${result.works}: ${result.reason}`,
  );
  assert.equal(typeof result.works, 'boolean');
  if (!device.usable) {
    assert.equal(result.works, false);
    assert.equal(result.reason, device.why);
  } else if (result.works) {
    // A KVM guest really booted: the reason quotes its marker line from the console.
    assert.match(
      result.reason,
      new RegExp(`booted under KVM in [\\d.]+ s \\("${GUEST_MARKER} booted: kernel `),
    );
  } else {
    assert.match(result.reason, /did not boot under KVM: (no boot marker within 25 s|qemu exited)/);
    assert.ok(result.seconds > 0);
  }
  assert.deepEqual(probeQemus(), [], 'no probe qemu is left running');
});
