import { createConnection } from 'node:net';
import { GuestfsConnectionError } from './errors.js';
import { type HandleCore, GuestfsHandle } from './handle.js';
import { MemorySink, memorySource } from './memory.js';
import { RpcSession } from './rpc/session.js';

/** Larger contents go through upload (chunks) instead of one internal_write message. */
const WRITE_INLINE_MAX = 2 * 1024 * 1024;

/**
 * A libguestfs handle: the typed procedures of the daemon (see GuestfsProcedures) plus the
 * library-side actions of libguestfs that are not procedures (read_file, cat, write, ls,
 * find...). Get one with `launch()` (boots the appliance) or `Guestfs.connect()` (a daemon
 * already listening on a unix socket).
 */
export class Guestfs extends GuestfsHandle {
  /**
   * Connects to a guestfsd listening on a unix socket (`guestfsd -l --channel PATH`), waits
   * for its launch flag, and returns the handle. Closing the handle closes the connection.
   */
  static async connect(
    socketPath: string,
    options: { timeoutMs?: number; onClose?: () => Promise<void> } = {},
  ): Promise<Guestfs> {
    const socket = createConnection(socketPath);
    const session = new RpcSession(socket, `guestfsd at ${socketPath}`);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(
      () =>
        session.close(
          `guestfsd at ${socketPath} did not send its launch flag within ${timeoutMs} ms`,
        ),
      timeoutMs,
    );
    try {
      await session.waitForLaunch();
    } finally {
      clearTimeout(timer);
    }
    return new Guestfs({
      session,
      async shutdown() {
        session.close();
        await options.onClose?.();
      },
    });
  }

  /** @internal */
  static fromCore(core: HandleCore): Guestfs {
    return new Guestfs(core);
  }

  /**
   * Syncs and unmounts everything (internal_autosync), then ends the session and stops the
   * appliance. Safe to call twice; never throws for a daemon that is already gone.
   */
  async close(): Promise<void> {
    if (this.core.session.closedReason === null) {
      try {
        // Generous: under TCG, writing back a few hundred MB of dirty pages takes minutes,
        // and cutting it short would leave the guest's filesystems damaged.
        await this.with({ timeoutMs: 30 * 60_000 }).internalAutosync();
      } catch (e) {
        if (!(e instanceof GuestfsConnectionError)) throw e;
      }
    }
    await this.core.shutdown();
  }

  /** The pid of the qemu running the appliance (null for a daemon reached by `connect`). */
  get appliancePid(): number | null {
    return this.core.pid ?? null;
  }

  /** Whether the daemon is still connected. */
  get isOpen(): boolean {
    return this.core.session.closedReason === null;
  }

  // --- library-side actions (libguestfs implements these in the library, not the daemon) ---

  /** The whole file, as bytes (libguestfs `read_file`: a `download` into memory). */
  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const sink = new MemorySink(options.maxBytes);
    await this.download(path, sink);
    return sink.contents;
  }

  /** The whole file as UTF-8 text (libguestfs `cat`). */
  async cat(path: string): Promise<string> {
    return (await this.readFile(path)).toString('utf8');
  }

  /** The file's lines, without their line endings (libguestfs `read_lines`). */
  async readLines(path: string): Promise<string[]> {
    const text = await this.cat(path);
    if (text === '') return [];
    return text.replace(/\r?\n$/, '').split(/\r?\n/);
  }

  /** Creates or replaces a file with these contents (libguestfs `write`). */
  async writeFile(path: string, content: string | Uint8Array): Promise<void> {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    if (bytes.byteLength <= WRITE_INLINE_MAX) await this.internalWrite(path, bytes);
    else await this.upload(memorySource(bytes), path);
  }

  /** Appends to a file, creating it if needed (libguestfs `write_append`). */
  async writeAppend(path: string, content: string | Uint8Array): Promise<void> {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    let at = 0;
    do {
      await this.internalWriteAppend(path, bytes.subarray(at, at + WRITE_INLINE_MAX));
      at += WRITE_INLINE_MAX;
    } while (at < bytes.byteLength);
  }

  /** The names in a directory, sorted, without `.` and `..` (libguestfs `ls`: `ls0`). */
  async ls(directory: string): Promise<string[]> {
    return sortBytewise(await this.nulList((sink) => this.ls0(directory, sink)));
  }

  /**
   * Every file and directory below a directory, sorted, as the daemon's `find0` names them:
   * relative to it, starting with `/` (`/grub`, `/grub.d/05_debian_theme`), as libguestfs
   * `find` returns them.
   */
  async find(directory: string): Promise<string[]> {
    return sortBytewise(await this.nulList((sink) => this.find0(directory, sink)));
  }

  private async nulList(fill: (sink: MemorySink) => Promise<void>): Promise<string[]> {
    const sink = new MemorySink();
    await fill(sink);
    const text = sink.contents.toString('utf8');
    return text === '' ? [] : text.replace(/\0$/, '').split('\0');
  }
}

/** strcmp order, as libguestfs sorts. */
export function sortBytewise(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
