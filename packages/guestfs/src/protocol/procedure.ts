import type { Readable, Writable } from 'node:stream';
import type { Codec } from '@tsvirt/xdr';

/** How a reply's return struct becomes the method's result. */
export type ResultKind =
  | { readonly kind: 'void' }
  /** The return struct's one field. */
  | { readonly kind: 'field'; readonly field: string }
  /** The one field is a flat [k1, v1, k2, v2...] list: a record. */
  | { readonly kind: 'hashtable'; readonly field: string };

/**
 * Upstream's kinds of string argument, which say how the daemon checks one before the call:
 * a Pathname is absolute and needs the root mounted, a Device names a block device, a
 * Dev_or_Path is either, a Mountable a device or `btrfsvol:DEVICE/SUBVOLUME`...
 */
export type StringArgKind =
  | 'Pathname'
  | 'Device'
  | 'Mountable'
  | 'Dev_or_Path'
  | 'Mountable_or_Path'
  | 'Key'
  | 'GUID'
  | 'Filename';

/** One daemon procedure, as the generated table describes it. */
export interface ProcedureInfo {
  readonly name: string;
  readonly number: number;
  /** Arguments then optional arguments, in order; null when the procedure has neither. */
  readonly args: Codec<object> | null;
  readonly ret: Codec<object> | null;
  readonly result: ResultKind;
  /** Optional arguments in bitmask order, each with the value sent when it is not given. */
  readonly optargs: Readonly<Record<string, unknown>>;
  /** The kind of each string argument that is not a plain string; `Kind[]` for a list. */
  readonly stringArgs?: Readonly<Record<string, StringArgKind | `${StringArgKind}[]`>>;
  /** The call is followed by chunks of a file (upload). */
  readonly fileIn: boolean;
  /** The reply is followed by chunks of a file (download). */
  readonly fileOut: boolean;
  /** The daemon may send progress messages during the call. */
  readonly progress: boolean;
  readonly cancellable: boolean;
}

/** A FileIn argument: a local file's path, or a stream to read. */
export type FileInSource = string | Readable;
/** A FileOut argument: a local file's path (created or truncated), or a stream to write. */
export type FileOutTarget = string | Writable;

export type FileTransfer =
  | { readonly direction: 'in'; readonly source: FileInSource }
  | { readonly direction: 'out'; readonly target: FileOutTarget };
