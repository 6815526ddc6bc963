// Each filter on tsnbd, compared with nbdkit's filter of the same name where it exists.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captive, requireTools, tempDir } from '../helpers.js';

requireTools('nbdinfo', 'nbdcopy', 'nbdkit', 'qemu-io');

const BYTES_AND_MAP =
  'nbdcopy "$uri" - | sha256sum && nbdinfo --map "$uri" && nbdinfo --size "$uri"';

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A 4 MiB disk with a GPT: partition 1 at LBA 64 (1 MiB), partition 2 at LBA 4096 (1 MiB). */
export function gptDisk(): Buffer {
  const disk = randomBytes(4 << 20);
  disk.fill(0, 0, 34 * 512);
  // Protective MBR.
  disk[446 + 4] = 0xee;
  disk.writeUInt32LE(1, 446 + 8);
  disk.writeUInt32LE(8191, 446 + 12);
  disk.writeUInt16LE(0xaa55, 510);
  const entries = Buffer.alloc(128 * 128);
  const part = (i: number, first: number, last: number) => {
    const e = entries.subarray(i * 128, (i + 1) * 128);
    randomBytes(16).copy(e, 0); // type GUID
    randomBytes(16).copy(e, 16); // unique GUID
    e.writeBigUInt64LE(BigInt(first), 32);
    e.writeBigUInt64LE(BigInt(last), 40);
  };
  part(0, 64, 64 + 2047);
  part(1, 4096, 4096 + 2047);
  entries.copy(disk, 2 * 512);
  const h = Buffer.alloc(92);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(8191n, 32);
  h.writeBigUInt64LE(34n, 40);
  h.writeBigUInt64LE(8158n, 48);
  randomBytes(16).copy(h, 56);
  h.writeBigUInt64LE(2n, 72);
  h.writeUInt32LE(128, 80);
  h.writeUInt32LE(128, 84);
  h.writeUInt32LE(crc32(entries), 88);
  h.writeUInt32LE(crc32(h), 16);
  h.copy(disk, 512);
  return disk;
}

void describe('filters', () => {
  const tmp = tempDir();
  const gpt = join(tmp.dir, 'gpt.img');
  const random = join(tmp.dir, 'random.img');
  before(() => {
    writeFileSync(gpt, gptDisk());
    writeFileSync(random, randomBytes(3 << 20));
  });
  after(() => tmp.cleanup());

  const mbr =
    'data=@446 0 0 0 0 0x83 0 0 0 0x08 0 0 0 0x10 0 0 0 0 0 0 0 0x83 0 0 0 0x40 0 0 0 0x20 0 0 0 @510 0x55 0xaa @4096 "first" @32768 "second"';
  // An extended partition at LBA 8 holding two logical partitions (5 and 6) chained by EBRs.
  const logical =
    'data=@446 0 0 0 0 0x05 0 0 0 8 0 0 0 100 0 0 0 @510 0x55 0xaa ' +
    '@4542 0 0 0 0 0x83 0 0 0 2 0 0 0 10 0 0 0 0 0 0 0 0x05 0 0 0 20 0 0 0 30 0 0 0 @4606 0x55 0xaa ' +
    '@14782 0 0 0 0 0x83 0 0 0 2 0 0 0 8 0 0 0 @14846 0x55 0xaa @5120 "five" @15360 "six"';
  const sameAsNbdkit: [string, string[]][] = [
    [
      'partition (MBR logical 5)',
      ['--filter=partition', 'data', logical, 'size=64k', 'partition=5'],
    ],
    [
      'partition (MBR logical 6)',
      ['--filter=partition', 'data', logical, 'size=64k', 'partition=6'],
    ],
    ['offset', ['--filter=offset', 'pattern', '10M', 'offset=1M', 'range=3M']],
    ['truncate (shrink)', ['--filter=truncate', 'pattern', '1M', 'truncate=1500000']],
    ['truncate (grow, round-up)', ['--filter=truncate', 'pattern', '1000000', 'round-up=65536']],
    ['partition (MBR 1)', ['--filter=partition', 'data', mbr, 'size=1M', 'partition=1']],
    ['partition (MBR 2)', ['--filter=partition', 'data', mbr, 'size=1M', 'partition=2']],
    ['partition (GPT 2)', ['--filter=partition', 'file', gpt, 'partition=2']],
    ['cow over a read-only plugin', ['--filter=cow', 'pattern', '2M']],
    ['cache', ['--filter=cache', 'file', random]],
    ['readahead', ['--filter=readahead', 'file', random]],
    ['blocksize', ['--filter=blocksize', 'file', random, 'minblock=4096', 'maxdata=65536']],
    ['delay', ['--filter=delay', 'pattern', '1M', 'rdelay=1ms']],
    ['rate', ['--filter=rate', 'pattern', '1M', 'rate=1G']],
    [
      'offset over partition',
      ['--filter=offset', '--filter=partition', 'file', gpt, 'partition=1', 'offset=4096'],
    ],
  ];
  for (const [name, args] of sameAsNbdkit) {
    void it(`${name}: same bytes and map as nbdkit`, async () => {
      const ours = await captive('tsnbd', args, BYTES_AND_MAP);
      const theirs = await captive('nbdkit', args, BYTES_AND_MAP);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.equal(ours.stdout, theirs.stdout);
    });
  }

  void it('cow: writes land in the overlay and the plugin is untouched', async () => {
    const io = `qemu-io -f raw -c 'write -P 0x77 1000 70000' -c 'write -z 200k 64k' -c 'read -P 0x77 1000 70000' -c 'read -P 0 200k 64k' "$uri" >&2 && ${BYTES_AND_MAP}`;
    const args = ['--filter=cow', 'file', random];
    const before = readFileSync(random);
    const ours = await captive('tsnbd', args, io);
    const theirs = await captive('nbdkit', args, io);
    assert.equal(ours.code, 0, ours.stderr + ours.stdout);
    assert.doesNotMatch(ours.stdout, /verification failed/);
    assert.equal(
      ours.stdout.split('\n').slice(-8).join('\n'),
      theirs.stdout.split('\n').slice(-8).join('\n'),
    );
    assert.ok(readFileSync(random).equals(before));
  });

  void it('cow-on-read and cache-on-read serve the same bytes', async () => {
    for (const args of [
      ['--filter=cow', 'file', random, 'cow-on-read=true'],
      ['--filter=cache', 'file', random, 'cache-on-read=true'],
    ]) {
      const r = await captive(
        'tsnbd',
        args,
        'nbdcopy "$uri" - | sha256sum && nbdcopy "$uri" - | sha256sum',
      );
      assert.equal(r.code, 0, r.stderr);
      const [a, b] = r.stdout.trim().split('\n');
      assert.equal(a, b);
      assert.match(
        a!,
        new RegExp(
          `^${(await captive('nbdkit', ['file', random], 'nbdcopy "$uri" - | sha256sum')).stdout.trim().split(' ')[0]}`,
        ),
      );
    }
  });

  void it('cache writeback: writes reach the file at flush', async () => {
    const file = join(tmp.dir, 'cached.img');
    writeFileSync(file, Buffer.alloc(1 << 20));
    const r = await captive(
      'tsnbd',
      ['--filter=cache', 'file', file],
      `qemu-io -f raw -c 'write -P 0x42 4096 8192' -c 'flush' "$uri"`,
    );
    assert.equal(r.code, 0, r.stderr);
    const data = readFileSync(file);
    assert.ok(data.subarray(4096, 12288).every((b) => b === 0x42));
    assert.ok(data.subarray(0, 4096).every((b) => b === 0));
  });

  void it('checkwrite: an identical copy succeeds, a different one fails', async () => {
    const ok = await captive(
      'tsnbd',
      ['--filter=checkwrite', 'file', random],
      `nbdcopy ${random} "$uri"`,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const other = join(tmp.dir, 'other.img');
    writeFileSync(other, randomBytes(3 << 20));
    const bad = await captive(
      'tsnbd',
      ['--filter=checkwrite', 'file', random],
      `nbdcopy ${other} "$uri"`,
    );
    assert.notEqual(bad.code, 0);
  });

  void it('error: injected errors reach the client with their errno', async () => {
    const r = await captive(
      'tsnbd',
      ['--filter=error', 'pattern', '1M', 'error-pread=ENOSPC', 'error-pread-rate=100%'],
      `qemu-io -r -f raw -c 'read 0 4096' "$uri"`,
    );
    assert.match(r.stdout + r.stderr, /No space left on device/);
    const trigger = join(tmp.dir, 'inject');
    const off = await captive(
      'tsnbd',
      ['--filter=error', 'pattern', '1M', 'error-rate=1', `error-file=${trigger}`],
      `nbdcopy "$uri" - | wc -c`,
    );
    assert.equal(off.stdout.trim(), String(1 << 20), 'no trigger file: no errors');
  });

  void it('retry: requests that fail for a while succeed', async () => {
    const trigger = join(tmp.dir, 'flaky');
    const r = await captive(
      'tsnbd',
      [
        '--filter=retry',
        '--filter=error',
        'pattern',
        '1M',
        'error-rate=1',
        `error-file=${trigger}`,
        'retry-delay=100ms',
        'retries=10',
      ],
      `touch ${trigger}; (sleep 0.5; rm ${trigger}) & nbdcopy "$uri" - | sha256sum`,
    );
    const expected = await captive('nbdkit', ['pattern', '1M'], 'nbdcopy "$uri" - | sha256sum');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected.stdout);
    assert.ok(!existsSync(trigger));
  });

  void it('log and stats record the requests', async () => {
    const log = join(tmp.dir, 'log.txt');
    const stats = join(tmp.dir, 'stats.txt');
    const r = await captive(
      'tsnbd',
      ['--filter=stats', '--filter=log', 'memory', '1M', `logfile=${log}`, `statsfile=${stats}`],
      `qemu-io -f raw -c 'write -P 1 0 4096' -c 'read 0 4096' "$uri"`,
    );
    assert.equal(r.code, 0, r.stderr);
    const logText = readFileSync(log, 'utf8');
    assert.match(logText, /Write id=\d+ offset=0x0 count=0x1000/);
    assert.match(logText, /\.\.\.\(Read\) id=\d+ .* return=0/);
    assert.match(readFileSync(stats, 'utf8'), /^write: 1 ops, 4096 bytes/m);
  });
});
