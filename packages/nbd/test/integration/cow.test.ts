// The cow filter against nbdkit's: the same bytes and the same `nbdinfo --map` after
// discards and zeroes that cover, straddle and sit inside overlay blocks, over several
// plugins; the overlay lives in an unlinked temporary file whose space trims give back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readlinkSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient } from '../../src/client/client.js';
import {
  captive,
  procStatusBytes,
  requireTools,
  run,
  startTsnbd,
  tempDir,
  uriOf,
} from '../helpers.js';

requireTools('nbdinfo', 'nbdcopy', 'nbdkit', 'qemu-io');

const KiB = 1024;
const MiB = 1 << 20;

/** qemu-io commands; the overlay's blocks are 64 KiB. */
const EDITS = [
  'write -P 0x11 0 256k', // whole blocks, into the overlay
  'discard 64k 64k', // one whole overlay block
  'discard 100k 300k', // straddles: partial head (in a trimmed block) and tail
  'discard 1000k 10k', // inside one block of the plugin
  'write -z 1M 64k', // NO_HOLE zeroes: kept allocated (data)
  'write -z 1100k 200k', // straddling zeroes
  'write -P 0x22 2000k 5k', // a partial write
  'discard 1984k 64k', // straddles the partial write's block
  'discard 3M 1M',
  'write -z 3500k 4k', // inside a trimmed block: rewritten as data, as nbdkit does
  'discard 4M 3M', // over the plugin's data and its holes, to the unaligned end
].map((c) => `-c '${c}'`);

const MAP_AND_BYTES = `qemu-io -f raw ${EDITS.join(' ')} "$uri" >/dev/null && nbdinfo --map "$uri" && nbdcopy "$uri" - | sha256sum`;

void describe('cow filter', () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'lower.img');
  before(() => {
    // 6 MiB of data then a hole, ending off a block boundary.
    writeFileSync(file, randomBytes(6 * MiB));
    truncateSync(file, 7 * MiB + 100_000);
  });
  after(() => tmp.cleanup());

  const lowers: [string, string[]][] = [
    ['file', ['file', file]],
    ['memory', ['memory', String(7 * MiB + 100_000)]],
    ['pattern', ['pattern', String(7 * MiB + 100_000)]],
  ];
  for (const [name, plugin] of lowers) {
    for (const blockSize of [undefined, '4096']) {
      const extra = blockSize ? [`cow-block-size=${blockSize}`] : [];
      const label = blockSize ? `, cow-block-size=${blockSize}` : '';
      void it(`over ${name}${label}: the same map and bytes as nbdkit after discards and zeroes`, async () => {
        const args = ['--filter=cow', ...plugin, ...extra];
        const ours = await captive('tsnbd', args, MAP_AND_BYTES);
        const theirs = await captive('nbdkit', args, MAP_AND_BYTES);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(theirs.code, 0, theirs.stderr);
        assert.equal(ours.stdout, theirs.stdout);
        assert.match(ours.stdout, /hole,zero/);
      });
    }
  }

  void it('whole blocks zeroed without NO_HOLE map as hole,zero (nbdkit 1.32 stores zeroes)', async () => {
    const io = `qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -z -u 64k 192k' -c 'write -z -u 600k 100k' "$uri" >/dev/null && nbdinfo --map "$uri" && nbdcopy "$uri" - | sha256sum`;
    const ours = await captive('tsnbd', ['--filter=cow', 'file', file], io);
    const theirs = await captive('nbdkit', ['--filter=cow', 'file', file], io);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout.split('\n').at(-2), theirs.stdout.split('\n').at(-2), 'same bytes');
    assert.match(ours.stdout, /^\s+65536\s+196608\s+3\s+hole,zero$/m);
  });

  void it('cow-on-read=/PATH keeps blocks read only while PATH exists, as nbdkit', async () => {
    const check = async (server: 'tsnbd' | 'nbdkit') => {
      const lower = join(tmp.dir, `cor-${server}.img`);
      const flag = join(tmp.dir, `cor-${server}`);
      writeFileSync(lower, Buffer.alloc(MiB, 0x11));
      const read = (c: string) => `qemu-io -r -f raw -c '${c}' "$uri"`;
      const r = await captive(
        server,
        ['--filter=cow', 'file', lower, `cow-on-read=${flag}`],
        `${read('read 0 64k')} && touch ${flag} && ${read('read 128k 64k')} && rm ${flag} && ` +
          // The file changes underneath: only the block read while the flag existed is kept.
          `${read('read 256k 64k')} && printf '\\042%.0s' $(seq 1048576) > ${lower} && ` +
          `${read('read -P 0x22 0 64k')} && ${read('read -P 0x11 128k 64k')} && ${read('read -P 0x22 256k 64k')}`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /verification failed/);
      return r.stdout.replace(/^.* ops; .*\n/gm, ''); // without the timings
    };
    assert.equal(await check('tsnbd'), await check('nbdkit'));
  });

  void it('the overlay is an unlinked file in TMPDIR whose space trims give back', async () => {
    const dir = join(tmp.dir, 'overlay-tmp');
    mkdirSync(dir);
    const server = await startTsnbd(tmp.dir, ['--filter=cow', 'pattern', '1G'], {
      TMPDIR: dir,
    });
    try {
      const pid = server.child.pid!;
      const overlay = overlayFd(pid, dir);
      assert.ok(overlay, 'the overlay is open');
      assert.deepEqual(readdirSync(dir), [], 'and already unlinked');
      const uri = uriOf(server.socket);
      const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 7 1M 8M', uri]);
      assert.equal(w.code, 0, w.stderr);
      const written = statSync(overlay).blocks * 512;
      assert.ok(written >= 8 * MiB && written < 9 * MiB, `overlay uses ${written} bytes`);
      const d = await run('qemu-io', ['-f', 'raw', '-c', 'discard 0 16M', uri]);
      assert.equal(d.code, 0, d.stderr);
      assert.ok(statSync(overlay).blocks * 512 < 64 * KiB, 'trimmed blocks give their space back');
      const map = await run('nbdinfo', ['--map', uri]);
      assert.match(map.stdout, /^\s+0\s+16777216\s+3\s+hole,zero$/m);
    } finally {
      await server.stop();
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing is left');
  });

  void it('a 50 GiB disk trimmed whole costs about a megabyte of index', async () => {
    const server = await startTsnbd(tmp.dir, ['--filter=cow', 'pattern', '50G']);
    try {
      const pid = server.child.pid!;
      const client = await NbdClient.connect({ socket: server.socket });
      const before = procStatusBytes(pid, 'VmRSS');
      for (let at = 0; at < client.size; at += 1 << 30) await client.trim(1 << 30, at);
      await client.close();
      const map = await run('nbdinfo', ['--map', uriOf(server.socket)]);
      assert.match(map.stdout, /^\s+0\s+53687091200\s+3\s+hole,zero$/m);
      const grown = (procStatusBytes(pid, 'VmRSS') - before) / MiB;
      assert.ok(grown < 16, `RSS grew by ${grown.toFixed(1)} MiB`);
    } finally {
      await server.stop();
    }
  });
});

/** The /proc path of the overlay file a tsnbd process holds open in `dir`. */
function overlayFd(pid: number, dir: string): string | undefined {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const path = `/proc/${pid}/fd/${fd}`;
    try {
      if (readlinkSync(path).startsWith(join(dir, 'tsnbd-cow-'))) return path;
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}
