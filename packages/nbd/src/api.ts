// The plugin and filter API: nbdkit's callbacks, as async TypeScript.
//
// A plugin serves the bytes; filters sit between the server and the plugin and may change
// any call. Each connection opens every layer once (`open`) and closes it at the end
// (`close`); capability questions (`canWrite` ...) are asked once per connection.
// Offsets and sizes are JavaScript numbers (exact up to 2^53 bytes, 8 PiB).

/** How FUA (force unit access) is honoured: not at all, by a flush after the write, natively. */
export type FuaMode = 'none' | 'emulate' | 'native';
/** How NBD_CMD_CACHE is honoured: refused, by reading and discarding, natively. */
export type CacheMode = 'none' | 'emulate' | 'native';

export interface WriteFlags {
  /** Force unit access: the data must be on stable storage before the call resolves. */
  fua: boolean;
}
export interface ZeroFlags extends WriteFlags {
  /** The layer may punch a hole instead of writing zeroes (the client did not send NO_HOLE). */
  mayTrim: boolean;
  /** Fail fast with ENOTSUP rather than zero slowly (NBD_CMD_FLAG_FAST_ZERO). */
  fastZero: boolean;
}
export interface ExtentsFlags {
  /** The client wants only the first extent (NBD_CMD_FLAG_REQ_ONE). */
  reqOne: boolean;
}

/** Bits of an extent's type (the base:allocation meta context). */
export const ExtentType = { DATA: 0, HOLE: 1, ZERO: 2, HOLE_ZERO: 3 } as const;

export interface Extent {
  offset: number;
  length: number;
  /** ExtentType bits: HOLE (1) and ZERO (2). */
  type: number;
}

export interface BlockSize {
  /** A power of two from 1 to 64 KiB. */
  minimum: number;
  /** A power of two from 512 to 32 MiB, at least `minimum`. */
  preferred: number;
  /** The largest request, a multiple of `minimum`. */
  maximum: number;
}

export interface ExportInfo {
  name: string;
  description?: string;
}

/** Describes one `key=value` a plugin or filter accepts, for `--help`. */
export interface ConfigKey {
  key: string;
  help: string;
}

/**
 * How tsnbd may run a plugin's or filter's calls, from the most to the least restrictive.
 * The first four are nbdkit's thread models, within one process: one connection at a time,
 * one request at a time, one request at a time per connection, or requests overlapping
 * (`'parallel'`, the default: what every plugin got before worker processes existed).
 * `'multiProcess'` is `'parallel'`, and more: tsnbd may serve connections in several worker
 * processes (`--workers`), each loading and configuring its own instance of the module.
 * Declare it only when that is right: the module keeps nothing in memory that another
 * connection must see, or shares it between processes itself (a file, say). A stack runs
 * under the most restrictive model of its plugin and filters.
 */
export type ThreadModel =
  | 'serializeConnections'
  | 'serializeAllRequests'
  | 'serializeRequests'
  | 'parallel'
  | 'multiProcess';

/** Lifecycle and configuration callbacks shared by plugins and filters. */
interface Configurable {
  /** Lower-case name used on the command line. */
  name: string;
  /** One line for `--help`. */
  description?: string;
  /** The keys accepted, for `--help`. */
  keys?: readonly ConfigKey[];
  /** See ThreadModel; `'parallel'` (one process, requests overlapping) when absent. */
  threadModel?: ThreadModel;
  /** Called once when the module is loaded. */
  load?(): void | Promise<void>;
  /** Called before exit. */
  cleanup?(): void | Promise<void>;
}

/**
 * A plugin. `H` is whatever `open` returns for one connection; it is handed back to every
 * call of that connection. Every callback but `name`, `open`, `getSize` and `pread` is optional;
 * a missing one gets nbdkit's default (for example no `pwrite` means a read-only export, no
 * `zero` means zeroes are written with `pwrite`).
 */
export interface Plugin<H = unknown> extends Configurable {
  /**
   * The key a bare command-line value is given to (`tsnbd memory 1G` is `size=1G`).
   */
  magicConfigKey?: string;
  config?(key: string, value: string): void | Promise<void>;
  configComplete?(): void | Promise<void>;
  getReady?(): void | Promise<void>;

  listExports?(readonly: boolean, isTls: boolean): ExportInfo[] | Promise<ExportInfo[]>;
  defaultExport?(readonly: boolean, isTls: boolean): string | Promise<string>;
  open(readonly: boolean, exportName: string, isTls: boolean): H | Promise<H>;
  close?(h: H): void | Promise<void>;

  getSize(h: H): number | Promise<number>;
  exportDescription?(h: H): string | undefined | Promise<string | undefined>;
  blockSize?(h: H): BlockSize | undefined | Promise<BlockSize | undefined>;
  canWrite?(h: H): boolean | Promise<boolean>;
  canFlush?(h: H): boolean | Promise<boolean>;
  isRotational?(h: H): boolean | Promise<boolean>;
  canTrim?(h: H): boolean | Promise<boolean>;
  canZero?(h: H): boolean | Promise<boolean>;
  canFastZero?(h: H): boolean | Promise<boolean>;
  canExtents?(h: H): boolean | Promise<boolean>;
  canFua?(h: H): FuaMode | Promise<FuaMode>;
  canMultiConn?(h: H): boolean | Promise<boolean>;
  canCache?(h: H): CacheMode | Promise<CacheMode>;

  /** Fill all of `buf` with the bytes at `offset`. */
  pread(h: H, buf: Buffer, offset: number): void | Promise<void>;
  /** Write all of `buf` at `offset`. `buf` is only valid until the promise settles. */
  pwrite?(h: H, buf: Buffer, offset: number, flags: WriteFlags): void | Promise<void>;
  flush?(h: H): void | Promise<void>;
  trim?(h: H, count: number, offset: number, flags: WriteFlags): void | Promise<void>;
  zero?(h: H, count: number, offset: number, flags: ZeroFlags): void | Promise<void>;
  /**
   * Describe the range: return extents in order, the first starting at `offset`; they may end
   * before or after `offset + count` (the server clips and, for reqOne, keeps the first).
   */
  extents?(h: H, count: number, offset: number, flags: ExtentsFlags): Extent[] | Promise<Extent[]>;
  cache?(h: H, count: number, offset: number): void | Promise<void>;
}

/**
 * The layer below a filter, opened for one connection: the same calls as a plugin, without the
 * handle, always async. Capabilities are computed once and remembered.
 */
export interface Next {
  getSize(): Promise<number>;
  exportDescription(): Promise<string | undefined>;
  blockSize(): Promise<BlockSize | undefined>;
  canWrite(): Promise<boolean>;
  canFlush(): Promise<boolean>;
  isRotational(): Promise<boolean>;
  canTrim(): Promise<boolean>;
  canZero(): Promise<boolean>;
  canFastZero(): Promise<boolean>;
  canExtents(): Promise<boolean>;
  canFua(): Promise<FuaMode>;
  canMultiConn(): Promise<boolean>;
  canCache(): Promise<CacheMode>;
  pread(buf: Buffer, offset: number): Promise<void>;
  pwrite(buf: Buffer, offset: number, flags: WriteFlags): Promise<void>;
  flush(): Promise<void>;
  trim(count: number, offset: number, flags: WriteFlags): Promise<void>;
  zero(count: number, offset: number, flags: ZeroFlags): Promise<void>;
  extents(count: number, offset: number, flags: ExtentsFlags): Promise<Extent[]>;
  cache(count: number, offset: number): Promise<void>;
}

export type OpenNext = (readonly: boolean, exportName: string) => Promise<void>;
export type ListExportsNext = (readonly: boolean) => Promise<ExportInfo[]>;
/** Passes a key the filter does not recognise to the next layer (eventually the plugin). */
export type ConfigNext = (key: string, value: string) => Promise<void>;

/**
 * A filter. Each data callback receives `next`, the layer below opened for this connection,
 * and may call it any number of times. A missing callback passes straight through.
 */
export interface Filter<H = unknown> extends Configurable {
  config?(next: ConfigNext, key: string, value: string): void | Promise<void>;
  configComplete?(): void | Promise<void>;
  getReady?(): void | Promise<void>;

  listExports?(next: ListExportsNext, readonly: boolean): ExportInfo[] | Promise<ExportInfo[]>;
  /** Must call `next` (maybe with another readonly/exportName) to open the layer below. */
  open?(next: OpenNext, readonly: boolean, exportName: string): H | Promise<H>;
  /** Called once the layer below is open, before any other call of the connection. */
  prepare?(next: Next, h: H, readonly: boolean): void | Promise<void>;
  close?(h: H): void | Promise<void>;

  getSize?(next: Next, h: H): number | Promise<number>;
  exportDescription?(next: Next, h: H): string | undefined | Promise<string | undefined>;
  blockSize?(next: Next, h: H): BlockSize | undefined | Promise<BlockSize | undefined>;
  canWrite?(next: Next, h: H): boolean | Promise<boolean>;
  canFlush?(next: Next, h: H): boolean | Promise<boolean>;
  isRotational?(next: Next, h: H): boolean | Promise<boolean>;
  canTrim?(next: Next, h: H): boolean | Promise<boolean>;
  canZero?(next: Next, h: H): boolean | Promise<boolean>;
  canFastZero?(next: Next, h: H): boolean | Promise<boolean>;
  canExtents?(next: Next, h: H): boolean | Promise<boolean>;
  canFua?(next: Next, h: H): FuaMode | Promise<FuaMode>;
  canMultiConn?(next: Next, h: H): boolean | Promise<boolean>;
  canCache?(next: Next, h: H): CacheMode | Promise<CacheMode>;

  pread?(next: Next, h: H, buf: Buffer, offset: number): void | Promise<void>;
  pwrite?(next: Next, h: H, buf: Buffer, offset: number, flags: WriteFlags): void | Promise<void>;
  flush?(next: Next, h: H): void | Promise<void>;
  trim?(next: Next, h: H, count: number, offset: number, flags: WriteFlags): void | Promise<void>;
  zero?(next: Next, h: H, count: number, offset: number, flags: ZeroFlags): void | Promise<void>;
  extents?(
    next: Next,
    h: H,
    count: number,
    offset: number,
    flags: ExtentsFlags,
  ): Extent[] | Promise<Extent[]>;
  cache?(next: Next, h: H, count: number, offset: number): void | Promise<void>;
}

/** Identity helpers that give a plugin or filter object literal its types. */
export function definePlugin<H>(plugin: Plugin<H>): Plugin<H> {
  return plugin;
}
export function defineFilter<H>(filter: Filter<H>): Filter<H> {
  return filter;
}
