import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { StreamReader, type Inspection } from '../../src/protocol/reader.js';

const magicIs = (expected: string): Inspection => ({
  length: 4,
  check: (start) => {
    const got = start.toString('latin1', 0, 4);
    if (got !== expected) throw new Error(`bad magic ${got}`);
  },
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('StreamReader', () => {
  void it('joins a message that arrives in pieces', async () => {
    const input = new PassThrough();
    const reader = new StreamReader(input);
    const read = reader.read(8);
    input.write('abc');
    input.write('defgh');
    assert.equal((await read).toString(), 'abcdefgh');
  });

  void it(
    'refuses a message of the wrong kind as soon as its start is in, not waiting for the rest',
    { timeout: 5000 },
    async () => {
      const input = new PassThrough();
      const reader = new StreamReader(input);
      const read = reader.readChecked(32, magicIs('EXTD'));
      input.write('COMP' + 'x'.repeat(24)); // 28 bytes: the rest would never come
      await assert.rejects(read, /bad magic COMP/);
    },
  );

  void it('checks a start that was already buffered before the read was asked for', async () => {
    const input = new PassThrough();
    const reader = new StreamReader(input);
    input.write('CO');
    input.write('MPxx');
    await tick();
    await assert.rejects(reader.readChecked(32, magicIs('EXTD')), /bad magic COMP/);
  });

  void it('delivers the whole message when its start passes the check', async () => {
    const input = new PassThrough();
    const reader = new StreamReader(input);
    const read = reader.readChecked(12, magicIs('EXTD'));
    input.write('EX');
    await tick();
    input.write('TD1234');
    await tick();
    input.write('567890');
    assert.equal((await read).toString(), 'EXTD12345678');
    assert.equal((await reader.read(2)).toString(), '90');
  });
});
