// Adaptive busy polling, as QEMU's iothreads do by default (poll-max-ns).
//
// A connection that waits for its next request sleeps in epoll until the request arrives;
// waking a sleeping server costs tens of microseconds on a virtual machine, more than the
// request itself. A client that sends one request at a time (a guest's synchronous I/O,
// a boot) pays that on every request. So when a connection with nothing left to do starts
// waiting, the event loop keeps running without sleeping (setImmediate: libuv then polls
// with a zero timeout) for the connection's poll window, and a request arriving meanwhile
// is read at once. A connection still writing replies (a bulk transfer) does not poll: it
// has work coming, and its polling would take CPU from the client on a small machine.
//
// Each connection adapts its window from how long it waited: a wait longer than the
// window but within the maximum doubles it (from 4 µs), a wait longer than the maximum
// halves it, so a client that pauses between requests is soon not polled for at all, and
// one that comes straight back is. The default maximum is 128 µs where QEMU's is 32: the
// wait seen while sleeping includes the wake-up, so a window grows only for clients that
// come back within the maximum less the wake-up, and qemu's NBD client takes 50-60 µs.
// Measured here at queue depth 1, 4 KiB reads, per request (server CPU for 20 000):
// bench/nbd-latency.c 36.5-41 µs (1.3-1.46 s), 58-60.5 µs without polling (1.56-1.63 s),
// nbdkit 36.6-43.6 µs (0.8-0.9 s); `qemu-img bench` 47-57 µs (1.7-2.05 s), 112-123 µs without
// (2.5-2.7 s), nbdkit 65-79 µs (1.4-1.6 s). Sleeping and waking cost more CPU than polling.

/** The longest window unless the server is told otherwise (--busy-poll). */
export const DEFAULT_BUSY_POLL_US = 128;
/** The window's first step, in milliseconds (performance.now()'s unit). */
const FIRST_STEP_MS = 0.004;

/** Keeps the event loop from sleeping until a deadline: the latest one asked for. */
let pollUntil = 0;
let polling = false;

function pollTo(deadline: number): void {
  if (deadline > pollUntil) pollUntil = deadline;
  if (polling) return;
  polling = true;
  const tick = () => {
    if (performance.now() < pollUntil) setImmediate(tick);
    else polling = false;
  };
  setImmediate(tick);
}

/** One connection's poll window. */
export class PollWindow {
  private windowMs = 0;
  private readonly maxMs: number;
  private waitStart = 0;

  /** `maxMicroseconds` 0: never polls. */
  constructor(maxMicroseconds: number) {
    this.maxMs = maxMicroseconds / 1000;
  }

  /** The window now, in microseconds. */
  get microseconds(): number {
    return this.windowMs * 1000;
  }

  /**
   * The connection starts waiting for a request; `idle`: it has nothing else to do (no
   * reply still being written), the only case worth polling for.
   */
  waiting(idle: boolean, now = performance.now()): void {
    this.waitStart = now;
    if (idle && this.windowMs > 0) pollTo(now + this.windowMs);
  }

  /** The request it waited for has arrived: the window adapts to how long that took. */
  arrived(now = performance.now()): void {
    const waited = now - this.waitStart;
    if (this.maxMs === 0 || waited <= this.windowMs) return;
    if (waited > this.maxMs) this.windowMs /= 2;
    else this.windowMs = Math.min(this.maxMs, this.windowMs ? this.windowMs * 2 : FIRST_STEP_MS);
    if (this.windowMs < FIRST_STEP_MS) this.windowMs = 0;
  }
}
