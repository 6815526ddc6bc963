/**
 * One call, from the message to the reply, as guestfsd's generated stubs do it: check the
 * header, find the procedure, refuse unknown optional arguments, decode the arguments
 * (strings as bytes), check each string argument by its kind (a Pathname is absolute and
 * needs the root mounted; a Device is translated and must be a disk), run the
 * implementation, reply. A procedure this daemon does not implement gets ENOTSUP, after its
 * upload (if any) has been drained, so the conversation never loses its place.
 */
import { XdrReader, XdrWriter } from '@tsvirt/xdr';
import type { ProcedureInfo, StringArgKind } from '../protocol/procedure.js';
import { type ProcedureName, procedures } from '../protocol/procedures.generated.js';
import {
  GUESTFS_MESSAGE_MAX,
  GUESTFS_PROGRAM,
  GUESTFS_PROTOCOL_VERSION,
  GuestfsMessageDirection,
  GuestfsMessageStatus,
  guestfsMessageError,
} from '../protocol/xdr.generated.js';
import { type ByteString, utf8Bytes } from './bytes.js';
import { Call, type DaemonState, UploadCancelled } from './call.js';
import { ChannelClosed, type LibraryConnection, ProtocolViolation } from './connection.js';
import { type MessageHeader, messageHeader } from './header.js';
import { isDeviceParameter, translateDevice } from './devices.js';
import { DaemonError, failure, isErrno, perror, strerror } from './errors.js';
import type { Handler, Handlers } from './handler.js';
import { mountsUnder } from './mounts.js';
import { log } from './run.js';

const byNumber = new Map<number, ProcedureInfo>(
  Object.values(procedures).map((p: ProcedureInfo) => [p.number, p]),
);

/** The error message's limit (GUESTFS_ERROR_LEN): longer ones are cut, as guestfsd does. */
const ERROR_LEN = 65536;

export class Dispatcher {
  constructor(
    private readonly connection: LibraryConnection,
    private readonly state: DaemonState,
    private readonly handlers: Handlers,
  ) {}

  /** Serves one call message. Only a broken conversation (ProtocolViolation, ChannelClosed) throws. */
  async serve(message: Buffer): Promise<void> {
    const r = new XdrReader(message, 0, { strings: 'bytes' });
    let header: MessageHeader;
    try {
      header = messageHeader.decode(r);
    } catch {
      throw new ProtocolViolation('could not decode message header');
    }
    const started = Date.now();
    const procedure = byNumber.get(header.proc);
    log.write(
      `<= ${procedure?.name ?? 'UNKNOWN PROCEDURE'} (0x${header.proc.toString(16)}) request length ${message.byteLength} bytes`,
    );
    const call = new Call(
      this.state,
      this.connection,
      procedure ?? unknownProcedure(header.proc),
      header.serial,
      header.progress_hint,
    );
    call.sendOkReply = () => this.reply(call, header, null);
    try {
      checkHeader(header);
      if (procedure === undefined) {
        throw failure(
          `dispatch_incoming_message: unknown procedure number ${header.proc}, set LIBGUESTFS_PATH to point to the matching libguestfs appliance directory`,
        );
      }
      if (procedure.fileIn) call.transfer = 'receiving';
      const handler = this.handlers[procedure.name as ProcedureName] as
        Handler<ProcedureName> | undefined;
      if (handler === undefined) {
        throw new DaemonError(
          'ENOTSUP',
          `not supported by this daemon (guestfsd in TypeScript, from tsvirt, implements ${Object.keys(this.handlers).length} of the ${byNumber.size} procedures; the C daemon has them all)`,
        );
      }
      const args = await decodeArguments(procedure, header.optargs_bitmask, r, call);
      const result = await handler(args, call);
      if (call.transfer === 'sending') await call.endSending(0);
      else if (call.transfer !== 'sent') await this.reply(call, header, result);
    } catch (e) {
      await this.fail(call, header, e);
    }
    log.write(
      `=> ${call.procedure.name} (0x${header.proc.toString(16)}) took ${((Date.now() - started) / 1000).toFixed(2)} secs`,
    );
  }

  /** Whatever went wrong, the library gets an answer it expects at this point of the call. */
  private async fail(call: Call, header: MessageHeader, e: unknown): Promise<void> {
    if (e instanceof ProtocolViolation || e instanceof ChannelClosed) throw e;
    const error =
      e instanceof DaemonError
        ? e
        : isErrno(e)
          ? perror(e, call.procedure.name) // a system error the procedure left unworded
          : internalError(e);
    log.write(`error: ${error.message}`);
    if (call.transfer === 'receiving' && !(e instanceof UploadCancelled))
      await call.cancelReceive();
    if (call.transfer === 'sending') {
      // The OK reply has gone: all that is left to say is that the file is incomplete.
      await call.endSending(1);
      return;
    }
    if (call.transfer === 'sent') return; // the library cancelled the download: no reply
    const w = new XdrWriter(256, { strings: 'bytes' });
    messageHeader.encode(w, replyHeader(header, GuestfsMessageStatus.GUESTFS_STATUS_ERROR));
    guestfsMessageError.encode(w, {
      errno_string: error.errno,
      error_message: error.message.slice(0, ERROR_LEN),
    });
    await this.connection.send(w.finish());
  }

  private async reply(call: Call, header: MessageHeader, result: unknown): Promise<void> {
    const w = new XdrWriter(256, { strings: 'bytes' });
    messageHeader.encode(w, replyHeader(header, GuestfsMessageStatus.GUESTFS_STATUS_OK));
    const { ret, result: kind } = call.procedure;
    if (ret !== null && kind.kind !== 'void') ret.encode(w, { [kind.field]: result });
    const message = w.finish();
    if (message.byteLength > GUESTFS_MESSAGE_MAX) {
      throw failure(
        'guestfsd: failed to encode reply body\n(maybe the reply exceeds the maximum message size in the protocol?)',
      );
    }
    await this.connection.send(message);
  }
}

/** A bug in the daemon: the library gets the message, the console the stack. */
function internalError(e: unknown): DaemonError {
  process.stderr.write(`guestfsd: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return failure(utf8Bytes(`internal error: ${e instanceof Error ? e.message : String(e)}`));
}

function unknownProcedure(number: number): ProcedureInfo {
  return {
    name: `procedure ${number}`,
    number,
    args: null,
    ret: null,
    result: { kind: 'void' },
    optargs: {},
    fileIn: false,
    fileOut: false,
    progress: false,
    cancellable: false,
  };
}

function checkHeader(h: MessageHeader): void {
  if (h.prog !== GUESTFS_PROGRAM) throw failure(`wrong program (${h.prog})`);
  if (h.vers !== GUESTFS_PROTOCOL_VERSION) throw failure(`wrong protocol version (${h.vers})`);
  if (h.direction !== GuestfsMessageDirection.GUESTFS_DIRECTION_CALL) {
    throw failure(`unexpected message direction (${h.direction})`);
  }
  if (h.status !== GuestfsMessageStatus.GUESTFS_STATUS_OK) {
    throw failure(`unexpected message status (${h.status})`);
  }
}

function replyHeader(call: MessageHeader, status: GuestfsMessageStatus): MessageHeader {
  return {
    prog: GUESTFS_PROGRAM,
    vers: GUESTFS_PROTOCOL_VERSION,
    proc: call.proc,
    direction: GuestfsMessageDirection.GUESTFS_DIRECTION_REPLY,
    serial: call.serial,
    progress_hint: 0n,
    optargs_bitmask: 0n,
    status,
  };
}

/**
 * The argument struct, with optional arguments the bitmask leaves out removed and device
 * names translated; errors in guestfsd's words (its stubs name themselves `NAME_stub`).
 */
async function decodeArguments(
  procedure: ProcedureInfo,
  mask: bigint,
  r: XdrReader,
  call: Call,
): Promise<Record<string, unknown>> {
  const optional = Object.keys(procedure.optargs);
  if (optional.length === 0 && mask !== 0n) {
    throw failure(
      "header optargs_bitmask field must be passed as 0 for calls that don't take optional arguments",
    );
  }
  if (mask >> BigInt(optional.length) !== 0n) {
    throw failure(
      'unknown option in optional arguments bitmask (this can happen if a program is compiled against a newer version of libguestfs, then run against an older version of the daemon)',
    );
  }
  let args: Record<string, unknown> = {};
  if (procedure.args !== null) {
    try {
      args = procedure.args.decode(r) as Record<string, unknown>;
    } catch {
      throw failure('daemon failed to decode procedure arguments');
    }
  }
  optional.forEach((name, bit) => {
    if ((mask & (1n << BigInt(bit))) === 0n) delete args[name];
  });
  const stub = `${procedure.name}_stub`;
  let needRoot = false;
  for (const [name, kind] of Object.entries(procedure.stringArgs ?? {})) {
    const value = args[name];
    if (typeof value !== 'string') continue; // lists: none of the procedures here take them
    switch (kind as StringArgKind) {
      case 'Pathname':
        absolutePath(stub, value);
        needRoot = true;
        break;
      case 'Device':
      case 'Mountable':
        args[name] = await device(stub, value);
        break;
      case 'Dev_or_Path':
      case 'Mountable_or_Path':
        if (await isDeviceParameter(value)) {
          args[name] = await device(stub, value);
          call.deviceArgs.add(name);
        } else {
          await rootMounted(stub, call);
          absolutePath(stub, value);
        }
        break;
      case 'Key':
      case 'GUID':
      case 'Filename':
        break;
    }
  }
  if (needRoot) await rootMounted(stub, call);
  return args;
}

function absolutePath(stub: string, path: ByteString): void {
  if (!path.startsWith('/')) throw failure(`${stub}: path must start with a / character`);
}

async function rootMounted(stub: string, call: Call): Promise<void> {
  if ((await mountsUnder(call.sysroot.path)).length === 0) {
    throw failure(`${stub}: you must call 'mount' first to mount the root filesystem`);
  }
}

/** RESOLVE_DEVICE: the appliance's name for it, which must be a disk-like block device. */
async function device(stub: string, name: ByteString): Promise<ByteString> {
  if (name.startsWith('btrfsvol:')) {
    throw new DaemonError(
      'ENOTSUP',
      `${stub}: ${name}: btrfs subvolumes are not supported by this daemon`,
    );
  }
  const translated = await translateDevice(name);
  if (translated === null)
    throw new DaemonError('ENOENT', `${stub}: ${name}: ${strerror('ENOENT')}`);
  if (!(await isDeviceParameter(translated)))
    throw failure(`${stub}: ${name}: expecting a device name`);
  return translated;
}
