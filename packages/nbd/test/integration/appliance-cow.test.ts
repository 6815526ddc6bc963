// End to end with the real libguestfs appliance, as a conversion uses the overlay: a Debian
// 12 guest disk served through the cow filter (tsnbd, then nbdkit on the same image), the
// appliance writes and deletes a file, mounts with discard and runs fstrim. Afterwards both
// overlays must map alike, tsnbd must have stayed small, and copying the overlay must write
// only the blocks in use. One appliance launch per server.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { debianImage, type DebianImage } from '@tsvirt/testimages';
import { TSNBD, procStatusBytes, requireTools, run, tempDir, uriOf } from '../helpers.js';

requireTools('guestfish', 'nbdkit', 'nbdinfo', 'nbdcopy');

const MiB = 1 << 20;
const APPLIANCE_ENV = { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };

/** Data and hole,zero byte totals of `nbdinfo --map --totals`. */
async function mapTotals(uri: string): Promise<{ data: number; zero: number }> {
  const r = await run('nbdinfo', ['--map', '--totals', uri]);
  assert.equal(r.code, 0, r.stderr);
  const totals = { data: 0, zero: 0 };
  for (const m of r.stdout.matchAll(/^\s*(\d+)\s+[\d.]+%\s+(\d+)\s/gm)) {
    if (m[2] === '0') totals.data += Number(m[1]);
    else totals.zero += Number(m[1]);
  }
  return totals;
}

/** The appliance on the overlay: a 64 MiB file written and deleted, then fstrim. */
function trimInAppliance(socket: string, root: string): Promise<void> {
  const script = [
    ['add', '', 'protocol:nbd', `server:unix:${socket}`, 'format:raw'],
    ['discard:besteffort', 'cachemode:unsafe'],
    [':', 'run'],
    [':', 'mount-options', 'discard', root, '/'],
    [':', 'fill', '85', String(64 * MiB), '/scratch', ':', 'sync', ':', 'rm', '/scratch'],
    [':', 'fstrim', '/', ':', 'umount-all', ':', 'shutdown'],
  ].flat();
  return new Promise((resolve, reject) => {
    execFile(
      'guestfish',
      ['--', ...script],
      { env: { ...process.env, ...APPLIANCE_ENV }, timeout: 600_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`guestfish: ${stderr}`)) : resolve()),
    );
  });
}

interface Server {
  child: ChildProcess;
  socket: string;
  stop(): Promise<void>;
}

/** `COMMAND... -f -U SOCKET --filter=cow file DISK`: tsnbd or nbdkit. */
async function startServer(command: string[], socket: string, disk: string): Promise<Server> {
  const args = [...command.slice(1), '-f', '-U', socket, '--filter=cow', 'file', disk];
  const child = spawn(command[0]!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited`);
    await sleep(25);
  }
  return {
    child,
    socket,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Bytes the overlay file of a tsnbd process takes on disk. */
function overlayBytes(pid: number): number {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const path = `/proc/${pid}/fd/${fd}`;
    if (/\/tsnbd-cow-[0-9a-f]+ \(deleted\)$/.test(readlinkSync(path))) {
      return statSync(path).blocks * 512;
    }
  }
  throw new Error('no overlay file is open');
}

const allocated = (path: string) => statSync(path).blocks * 512;

void describe('cow under the libguestfs appliance: fstrim, then copy what is used', () => {
  const tmp = tempDir();
  let image: DebianImage;
  let ours: Server;
  let theirs: Server;
  before(async () => {
    image = await debianImage();
    ours = await startServer([process.execPath, TSNBD], join(tmp.dir, 'tsnbd.sock'), image.path);
    theirs = await startServer(['nbdkit'], join(tmp.dir, 'nbdkit.sock'), image.path);
    // One after the other: two TCG appliances at once would crowd this shared machine.
    await trimInAppliance(ours.socket, image.rootDevice);
    await trimInAppliance(theirs.socket, image.rootDevice);
  });
  after(async () => {
    await ours?.stop();
    await theirs?.stop();
    tmp.cleanup();
  });

  void it('maps as nbdkit does (data and hole,zero totals within 2 %)', async () => {
    const a = await mapTotals(uriOf(ours.socket));
    const b = await mapTotals(uriOf(theirs.socket));
    process.stderr.write(
      `appliance cow: data ${a.data / MiB} MiB (nbdkit ${b.data / MiB}), ` +
        `hole,zero ${a.zero / MiB} MiB (nbdkit ${b.zero / MiB})\n`,
    );
    assert.equal(a.data + a.zero, image.sizeBytes);
    assert.ok(Math.abs(a.data - b.data) <= 0.02 * b.data, 'data within 2 %');
    assert.ok(Math.abs(a.zero - b.zero) <= 0.02 * b.zero, 'hole,zero within 2 %');
  });

  void it('tsnbd stayed under 200 MB and its overlay gave the deleted file back', () => {
    const pid = ours.child.pid!;
    const peak = procStatusBytes(pid, 'VmHWM');
    const overlay = overlayBytes(pid);
    process.stderr.write(
      `appliance cow: tsnbd VmHWM ${(peak / MiB).toFixed(0)} MiB, overlay ${(overlay / MiB).toFixed(1)} MiB on disk\n`,
    );
    assert.ok(peak < 200 * MiB, `VmHWM ${peak / MiB} MiB`);
    assert.ok(overlay < 64 * MiB, 'the 64 MiB file written then trimmed is not kept');
  });

  void it('tsnbd copy writes the used blocks only (allocated size within 5 % of nbdcopy from nbdkit)', async () => {
    const mine = join(tmp.dir, 'tsnbd-copy.img');
    const reference = join(tmp.dir, 'nbdcopy.img');
    const a = await run(process.execPath, [TSNBD, 'copy', uriOf(ours.socket), mine], 600_000);
    assert.equal(a.code, 0, a.stderr);
    const b = await run('nbdcopy', [uriOf(theirs.socket), reference], 600_000);
    assert.equal(b.code, 0, b.stderr);
    process.stderr.write(
      `appliance cow: tsnbd copy ${(allocated(mine) / MiB).toFixed(0)} MiB allocated, ` +
        `nbdcopy ${(allocated(reference) / MiB).toFixed(0)} MiB\n`,
    );
    assert.equal(statSync(mine).size, image.sizeBytes);
    assert.ok(Math.abs(allocated(mine) - allocated(reference)) <= 0.05 * allocated(reference));
  });
});
