// A cap on the bytes a connection holds at once (read replies not yet handed to the socket,
// write payloads not yet written by the plugin). Waiters are served in order; a request
// larger than the whole cap is let through when nothing else is held, so that every request
// can make progress.
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; grant: () => void }[] = [];
  private closed = false;

  constructor(readonly limit: number) {}

  /** Resolves once `bytes` may be held; resolves at once after close(). */
  acquire(bytes: number): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    return new Promise((grant) => this.waiters.push({ bytes, grant }));
  }

  /** Holds `bytes` if that is possible now, without waiting (the common case, no promise). */
  tryAcquire(bytes: number): boolean {
    if (!this.closed && (this.waiters.length > 0 || !this.fits(bytes))) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.wake();
  }

  /** Lets every waiter through (the connection is gone; nothing will be released). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  get held(): number {
    return this.used;
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  private wake(): void {
    while (this.waiters.length > 0 && (this.closed || this.fits(this.waiters[0]!.bytes))) {
      const next = this.waiters.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }
}
