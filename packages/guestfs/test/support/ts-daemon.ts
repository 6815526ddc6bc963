/**
 * The TypeScript daemon run on the host, without an appliance: `guestfsd --listen --channel
 * SOCK --sysroot DIR`, where DIR (a fresh directory under a private base) plays the guest's
 * mounted root. It runs in a private mount namespace where DIR is bind-mounted on itself, so
 * that DIR is "mounted" as the daemon requires and nothing it mounts reaches the host. Files
 * the test puts in the base beside DIR are outside the guest: the daemon must never reach
 * them. Also a raw client that sends strings as bytes (the TypeScript client sends UTF-8), to
 * call with names that are not UTF-8 as the C library can.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { type Socket, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdrReader, XdrWriter } from '@tsvirt/xdr';
import { Guestfs, type ProcedureInfo } from '../../src/index.js';
import {
  GUESTFS_PROGRAM,
  GUESTFS_PROTOCOL_VERSION,
  GuestfsMessageDirection,
  GuestfsMessageStatus,
  guestfsChunk,
  guestfsMessageError,
} from '../../src/protocol/xdr.generated.js';
import { type MessageHeader, messageHeader } from '../../src/daemon/header.js';
import { type Frame, FrameReader } from '../../src/rpc/framing.js';
import { type ListeningDaemon, startInNamespace } from './standalone.js';

const daemonMain = new URL('../../src/daemon/main.js', import.meta.url).pathname;

export interface TsDaemon extends ListeningDaemon {
  /** The private directory: `root` (the guest) and whatever the test puts beside it. */
  readonly base: string;
  /** The guest's root as the host sees it. */
  readonly root: string;
  readonly socketPath: string;
}

export async function startTsDaemon(
  prepare: (root: string, base: string) => void = () => undefined,
): Promise<TsDaemon> {
  const base = mkdtempSync(join(tmpdir(), 'tsguestfs-tsd-'));
  const root = join(base, 'root');
  mkdirSync(root);
  prepare(root, base);
  const socketPath = join(base, 'channel.sock');
  const script = 'mount --bind "$1" "$1" && exec "$2" "$3" --listen --channel "$4" --sysroot "$1"';
  const daemon = await startInNamespace(
    'the TypeScript daemon',
    script,
    [root, process.execPath, daemonMain, socketPath],
    base,
    socketPath,
  );
  return { ...daemon, base, root, socketPath };
}

/** A handle on a fresh TypeScript daemon; closing it stops the daemon. */
export async function connectTsDaemon(
  prepare?: (root: string, base: string) => void,
): Promise<{ g: Guestfs; daemon: TsDaemon }> {
  const daemon = await startTsDaemon(prepare);
  const g = await Guestfs.connect(daemon.socketPath, { onClose: () => daemon.stop() });
  return { g, daemon };
}

/** A reply as the raw client sees it: a result struct, or an error. */
export type RawReply =
  | { readonly ok: true; readonly ret: unknown; readonly chunks: Buffer }
  | { readonly ok: false; readonly errno: string; readonly message: string };

/**
 * A client that encodes strings as bytes (one byte per character U+0000-U+00FF), as the C
 * library does, and takes the daemon's replies the same way. For FileOut calls it collects
 * the chunks. No FileIn.
 */
export class RawClient {
  private readonly frames: Frame[] = [];
  private wake: (() => void) | null = null;
  private serial = 0;

  private constructor(private readonly socket: Socket) {
    const reader = new FrameReader(
      (f) => {
        this.frames.push(f);
        this.wake?.();
      },
      (detail) => socket.destroy(new Error(detail)),
    );
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('close', () => this.wake?.());
    socket.on('error', () => undefined); // 'close' follows
  }

  static async connect(socketPath: string): Promise<RawClient> {
    const socket = createConnection(socketPath);
    const client = new RawClient(socket);
    const launch = await client.next();
    if (launch.kind !== 'launch') throw new Error(`expected the launch flag, got ${launch.kind}`);
    return client;
  }

  async call(
    procedure: ProcedureInfo,
    args: object,
    mask = 0n,
    proc = procedure.number,
  ): Promise<RawReply> {
    const serial = ++this.serial;
    const w = new XdrWriter(256, { strings: 'bytes' });
    w.uint(0);
    const header: MessageHeader = {
      prog: GUESTFS_PROGRAM,
      vers: GUESTFS_PROTOCOL_VERSION,
      proc,
      direction: GuestfsMessageDirection.GUESTFS_DIRECTION_CALL,
      serial,
      progress_hint: 0n,
      optargs_bitmask: mask,
      status: GuestfsMessageStatus.GUESTFS_STATUS_OK,
    };
    messageHeader.encode(w, header);
    procedure.args?.encode(w, args);
    const message = w.finish();
    w.patchUint(0, message.byteLength - 4);
    this.socket.write(message);
    const reply = await this.nextMessage();
    const r = new XdrReader(reply, 0, { strings: 'bytes' });
    const h = messageHeader.decode(r);
    if (h.serial !== serial) throw new Error(`reply serial ${h.serial}, expected ${serial}`);
    if (h.status === GuestfsMessageStatus.GUESTFS_STATUS_ERROR) {
      const e = guestfsMessageError.decode(r);
      return { ok: false, errno: e.errno_string, message: e.error_message };
    }
    const ret = procedure.ret?.decode(r);
    const chunks: Buffer[] = [];
    if (procedure.fileOut) {
      for (;;) {
        const chunk = guestfsChunk.decode(new XdrReader(await this.nextMessage()));
        if (chunk.cancel !== 0) throw new Error('the daemon cancelled the transfer');
        if (chunk.data.byteLength === 0) break;
        chunks.push(Buffer.from(chunk.data));
      }
    }
    return { ok: true, ret, chunks: Buffer.concat(chunks) };
  }

  close(): void {
    this.socket.destroy();
  }

  private async nextMessage(): Promise<Buffer> {
    for (;;) {
      const f = await this.next();
      if (f.kind === 'message') return f.data;
    }
  }

  private async next(): Promise<Frame> {
    while (this.frames.length === 0) {
      if (this.socket.destroyed) throw new Error('the daemon closed the connection');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return this.frames.shift()!;
  }
}
