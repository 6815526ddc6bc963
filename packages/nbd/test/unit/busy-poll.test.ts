// The poll window's adaptation (busy-poll.ts), with the clock given: it grows while
// requests arrive within the maximum, halves when they take longer, stays at 0 when off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollWindow } from '../../src/server/busy-poll.js';

/** One wait of `waitedUs` microseconds, then the window in microseconds. */
function wait(window: PollWindow, waitedUs: number): number {
  window.waiting(true, 0);
  window.arrived(waitedUs / 1000);
  return Math.round(window.microseconds);
}

void describe('PollWindow', () => {
  void it('grows from 4 µs, doubling, up to the maximum while requests come within it', () => {
    const w = new PollWindow(64);
    assert.equal(w.microseconds, 0, 'no polling before the first wait');
    const steps = Array.from({ length: 6 }, () => wait(w, 50));
    assert.deepEqual(steps, [4, 8, 16, 32, 64, 64]);
  });

  void it('keeps its size while requests arrive within it', () => {
    const w = new PollWindow(64);
    for (let i = 0; i < 5; i++) wait(w, 50);
    assert.equal(wait(w, 20), 64);
    assert.equal(wait(w, 64), 64);
  });

  void it('halves on each wait longer than the maximum, down to off', () => {
    const w = new PollWindow(64);
    for (let i = 0; i < 5; i++) wait(w, 50);
    const steps = Array.from({ length: 6 }, () => wait(w, 1000));
    assert.deepEqual(steps, [32, 16, 8, 4, 0, 0]);
  });

  void it('never polls when the maximum is 0', () => {
    const w = new PollWindow(0);
    for (const us of [1, 10, 100]) assert.equal(wait(w, us), 0);
  });
});
