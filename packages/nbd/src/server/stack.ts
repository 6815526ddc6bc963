// The layers a connection talks to: filters (outermost first) over one plugin. Each layer,
// once opened for a connection, is a `Next` with nbdkit's defaults filled in and its
// capability answers remembered.
import {
  ExtentType,
  type CacheMode,
  type ExportInfo,
  type Extent,
  type ExtentsFlags,
  type Filter,
  type FuaMode,
  type Next,
  type OpenNext,
  type Plugin,
  type ThreadModel,
  type WriteFlags,
  type ZeroFlags,
} from '../api.js';
import { ConfigError, NbdError, errnoNameOf } from '../errors.js';
import { Mutex } from '../mutex.js';

/** A layer opened for one connection. */
export interface OpenLayer extends Next {
  /**
   * pread for the server's own use: a plugin that answers synchronously is not waited for
   * through promises (filters keep getting promises from `pread`).
   */
  readNow(buf: Buffer, offset: number): void | Promise<void>;
  close(): Promise<void>;
}

function once<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

const ZERO_CHUNK = 1 << 20;
let zeroBuffer: Buffer | undefined;
function zeroes(length: number): Buffer {
  zeroBuffer ??= Buffer.alloc(ZERO_CHUNK);
  return zeroBuffer.subarray(0, length);
}

class PluginLayer<H> implements OpenLayer {
  constructor(
    private readonly plugin: Plugin<H>,
    private readonly h: H,
    private readonly readonly: boolean,
  ) {}

  getSize = once(async () => {
    const size = await this.plugin.getSize(this.h);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new NbdError('EIO', `plugin ${this.plugin.name}: get_size returned ${size}`);
    }
    return size;
  });
  exportDescription = once(async () => this.plugin.exportDescription?.(this.h));
  blockSize = once(async () => this.plugin.blockSize?.(this.h));
  canWrite = once(async () =>
    this.readonly || !this.plugin.pwrite ? false : ((await this.plugin.canWrite?.(this.h)) ?? true),
  );
  canFlush = once(async () =>
    this.plugin.flush ? ((await this.plugin.canFlush?.(this.h)) ?? true) : false,
  );
  isRotational = once(async () => (await this.plugin.isRotational?.(this.h)) ?? false);
  canTrim = once(async () =>
    (await this.canWrite()) && this.plugin.trim
      ? ((await this.plugin.canTrim?.(this.h)) ?? true)
      : false,
  );
  canZero = once(async () =>
    (await this.canWrite()) ? ((await this.plugin.canZero?.(this.h)) ?? true) : false,
  );
  // Without a zero callback, a fast zero can always fail fast (nbdkit's default).
  canFastZero = once(async () =>
    (await this.canZero())
      ? ((await this.plugin.canFastZero?.(this.h)) ?? !this.plugin.zero)
      : false,
  );
  canExtents = once(async () =>
    this.plugin.extents ? ((await this.plugin.canExtents?.(this.h)) ?? true) : false,
  );
  canFua = once(async (): Promise<FuaMode> => {
    if (!(await this.canWrite())) return 'none';
    const mode = await this.plugin.canFua?.(this.h);
    if (mode !== undefined) return mode;
    return (await this.canFlush()) ? 'emulate' : 'none';
  });
  canMultiConn = once(async () => (await this.plugin.canMultiConn?.(this.h)) ?? false);
  canCache = once(async (): Promise<CacheMode> => {
    const mode = await this.plugin.canCache?.(this.h);
    if (mode !== undefined) return mode;
    return this.plugin.cache ? 'native' : 'none';
  });

  async pread(buf: Buffer, offset: number): Promise<void> {
    await this.plugin.pread(this.h, buf, offset);
  }

  readNow(buf: Buffer, offset: number): void | Promise<void> {
    return this.plugin.pread(this.h, buf, offset);
  }

  /** Runs a write-like call, passing FUA natively or emulating it with a flush. */
  private async withFua(flags: WriteFlags, run: (native: WriteFlags) => unknown): Promise<void> {
    if (!flags.fua) {
      await run(flags);
      return;
    }
    const mode = await this.canFua();
    if (mode === 'native') {
      await run(flags);
    } else {
      await run({ ...flags, fua: false });
      if (mode === 'emulate') await this.flush();
    }
  }

  async pwrite(buf: Buffer, offset: number, flags: WriteFlags): Promise<void> {
    if (!this.plugin.pwrite || !(await this.canWrite())) {
      throw new NbdError('EPERM', 'read-only export');
    }
    await this.withFua(flags, (f) => this.plugin.pwrite!(this.h, buf, offset, f));
  }

  async flush(): Promise<void> {
    if (this.plugin.flush) await this.plugin.flush(this.h);
  }

  async trim(count: number, offset: number, flags: WriteFlags): Promise<void> {
    if (!this.plugin.trim) return; // Trim is advisory: doing nothing is correct.
    await this.withFua(flags, (f) => this.plugin.trim!(this.h, count, offset, f));
  }

  async zero(count: number, offset: number, flags: ZeroFlags): Promise<void> {
    if (this.plugin.zero) {
      try {
        await this.withFua(flags, (f) =>
          this.plugin.zero!(this.h, count, offset, { ...flags, fua: f.fua }),
        );
        return;
      } catch (err) {
        if (errnoNameOf(err) !== 'ENOTSUP' || flags.fastZero) throw err;
      }
    }
    if (flags.fastZero) throw new NbdError('ENOTSUP', 'fast zero is not supported');
    // Emulate with writes of zeroes, as nbdkit does.
    for (let done = 0; done < count;) {
      const n = Math.min(ZERO_CHUNK, count - done);
      await this.pwrite(zeroes(n), offset + done, { fua: false });
      done += n;
    }
    if (flags.fua) await this.flush();
  }

  async extents(count: number, offset: number, flags: ExtentsFlags): Promise<Extent[]> {
    if (!this.plugin.extents || !(await this.canExtents())) {
      return [{ offset, length: count, type: ExtentType.DATA }];
    }
    return this.plugin.extents(this.h, count, offset, flags);
  }

  async cache(count: number, offset: number): Promise<void> {
    const mode = await this.canCache();
    if (mode === 'native' && this.plugin.cache) {
      await this.plugin.cache(this.h, count, offset);
    } else if (mode !== 'none') {
      const scratch = Buffer.allocUnsafe(Math.min(count, ZERO_CHUNK));
      for (let done = 0; done < count;) {
        const n = Math.min(scratch.length, count - done);
        await this.pread(scratch.subarray(0, n), offset + done);
        done += n;
      }
    }
  }

  async close(): Promise<void> {
    await this.plugin.close?.(this.h);
  }
}

class FilterLayer<H> implements OpenLayer {
  constructor(
    private readonly filter: Filter<H>,
    private readonly h: H,
    private readonly next: OpenLayer,
  ) {}

  getSize = once(async () => {
    const f = this.filter;
    return f.getSize ? f.getSize(this.next, this.h) : this.next.getSize();
  });
  exportDescription = once(async () => {
    const f = this.filter;
    return f.exportDescription
      ? f.exportDescription(this.next, this.h)
      : this.next.exportDescription();
  });
  blockSize = once(async () => {
    const f = this.filter;
    return f.blockSize ? f.blockSize(this.next, this.h) : this.next.blockSize();
  });
  canWrite = once(async () => {
    const f = this.filter;
    return f.canWrite ? f.canWrite(this.next, this.h) : this.next.canWrite();
  });
  canFlush = once(async () => {
    const f = this.filter;
    return f.canFlush ? f.canFlush(this.next, this.h) : this.next.canFlush();
  });
  isRotational = once(async () => {
    const f = this.filter;
    return f.isRotational ? f.isRotational(this.next, this.h) : this.next.isRotational();
  });
  canTrim = once(async () => {
    const f = this.filter;
    return f.canTrim ? f.canTrim(this.next, this.h) : this.next.canTrim();
  });
  canZero = once(async () => {
    const f = this.filter;
    return f.canZero ? f.canZero(this.next, this.h) : this.next.canZero();
  });
  canFastZero = once(async () => {
    const f = this.filter;
    return f.canFastZero ? f.canFastZero(this.next, this.h) : this.next.canFastZero();
  });
  canExtents = once(async () => {
    const f = this.filter;
    return f.canExtents ? f.canExtents(this.next, this.h) : this.next.canExtents();
  });
  canFua = once(async () => {
    const f = this.filter;
    return f.canFua ? f.canFua(this.next, this.h) : this.next.canFua();
  });
  canMultiConn = once(async () => {
    const f = this.filter;
    return f.canMultiConn ? f.canMultiConn(this.next, this.h) : this.next.canMultiConn();
  });
  canCache = once(async () => {
    const f = this.filter;
    return f.canCache ? f.canCache(this.next, this.h) : this.next.canCache();
  });

  async pread(buf: Buffer, offset: number): Promise<void> {
    const f = this.filter;
    await (f.pread ? f.pread(this.next, this.h, buf, offset) : this.next.pread(buf, offset));
  }
  readNow(buf: Buffer, offset: number): Promise<void> {
    return this.pread(buf, offset);
  }
  async pwrite(buf: Buffer, offset: number, flags: WriteFlags): Promise<void> {
    const f = this.filter;
    await (f.pwrite
      ? f.pwrite(this.next, this.h, buf, offset, flags)
      : this.next.pwrite(buf, offset, flags));
  }
  async flush(): Promise<void> {
    const f = this.filter;
    await (f.flush ? f.flush(this.next, this.h) : this.next.flush());
  }
  async trim(count: number, offset: number, flags: WriteFlags): Promise<void> {
    const f = this.filter;
    await (f.trim
      ? f.trim(this.next, this.h, count, offset, flags)
      : this.next.trim(count, offset, flags));
  }
  async zero(count: number, offset: number, flags: ZeroFlags): Promise<void> {
    const f = this.filter;
    await (f.zero
      ? f.zero(this.next, this.h, count, offset, flags)
      : this.next.zero(count, offset, flags));
  }
  async extents(count: number, offset: number, flags: ExtentsFlags): Promise<Extent[]> {
    const f = this.filter;
    return f.extents
      ? f.extents(this.next, this.h, count, offset, flags)
      : this.next.extents(count, offset, flags);
  }
  async cache(count: number, offset: number): Promise<void> {
    const f = this.filter;
    await (f.cache ? f.cache(this.next, this.h, count, offset) : this.next.cache(count, offset));
  }
  async close(): Promise<void> {
    try {
      await this.filter.close?.(this.h);
    } finally {
      await this.next.close();
    }
  }
}

/** Thread models from the most restrictive to the least (see ThreadModel). */
export const THREAD_MODELS: readonly ThreadModel[] = [
  'serializeConnections',
  'serializeAllRequests',
  'serializeRequests',
  'parallel',
  'multiProcess',
];

/** A plugin with its filters (outermost first), configured once, opened per connection. */
export class Stack {
  /** Runs requests one at a time under the 'serializeAllRequests' model. */
  readonly requestLock = new Mutex();

  constructor(
    readonly plugin: Plugin<unknown>,
    readonly filters: readonly Filter<unknown>[] = [],
  ) {}

  /** The most restrictive thread model of the plugin and its filters. */
  get threadModel(): ThreadModel {
    const rank = (layer: { threadModel?: ThreadModel }) =>
      THREAD_MODELS.indexOf(layer.threadModel ?? 'parallel');
    return THREAD_MODELS[Math.min(rank(this.plugin), ...this.filters.map(rank))]!;
  }

  async load(): Promise<void> {
    await this.plugin.load?.();
    for (const f of this.filters) await f.load?.();
  }

  /** Hands `key=value` to the outermost filter; each passes what it does not know inward. */
  async config(key: string, value: string): Promise<void> {
    const at = async (index: number, k: string, v: string): Promise<void> => {
      const filter = this.filters[index];
      if (!filter) {
        if (!this.plugin.config) {
          throw new ConfigError(`plugin ${this.plugin.name} takes no parameter ${k}=${v}`);
        }
        await this.plugin.config(k, v);
        return;
      }
      const next = (nk: string, nv: string) => at(index + 1, nk, nv);
      if (filter.config) await filter.config(next, k, v);
      else await next(k, v);
    };
    await at(0, key, value);
  }

  async configComplete(): Promise<void> {
    await this.plugin.configComplete?.();
    for (const f of this.filters) await f.configComplete?.();
  }

  async getReady(): Promise<void> {
    await this.plugin.getReady?.();
    for (const f of this.filters) await f.getReady?.();
  }

  async cleanup(): Promise<void> {
    for (const f of this.filters) await f.cleanup?.();
    await this.plugin.cleanup?.();
  }

  async listExports(readonly: boolean, isTls: boolean): Promise<ExportInfo[]> {
    const at = async (index: number, ro: boolean): Promise<ExportInfo[]> => {
      const filter = this.filters[index];
      if (!filter) {
        const list = await this.plugin.listExports?.(ro, isTls);
        return list ?? [{ name: await this.defaultExport(ro, isTls) }];
      }
      const next = (r: boolean) => at(index + 1, r);
      return filter.listExports ? filter.listExports(next, ro) : next(ro);
    };
    return at(0, readonly);
  }

  async defaultExport(readonly: boolean, isTls: boolean): Promise<string> {
    return (await this.plugin.defaultExport?.(readonly, isTls)) ?? '';
  }

  /** Opens every layer for one connection. */
  async open(readonly: boolean, exportName: string, isTls: boolean): Promise<OpenLayer> {
    const name = exportName === '' ? await this.defaultExport(readonly, isTls) : exportName;
    return this.openAt(0, readonly, name, isTls);
  }

  private async openAt(
    index: number,
    readonly: boolean,
    exportName: string,
    isTls: boolean,
  ): Promise<OpenLayer> {
    const filter = this.filters[index];
    if (!filter) {
      const h = await this.plugin.open(readonly, exportName, isTls);
      return new PluginLayer(this.plugin, h, readonly);
    }
    let inner: OpenLayer | undefined;
    const openNext: OpenNext = async (ro, name) => {
      if (inner) throw new Error(`filter ${filter.name} opened the next layer twice`);
      inner = await this.openAt(index + 1, ro, name, isTls);
    };
    try {
      let h: unknown;
      if (filter.open) h = await filter.open(openNext, readonly, exportName);
      else await openNext(readonly, exportName);
      if (!inner) throw new Error(`filter ${filter.name}: open did not open the next layer`);
      if (filter.prepare) await filter.prepare(inner, h, readonly);
      return new FilterLayer(filter, h, inner);
    } catch (err) {
      await inner?.close().catch(() => undefined);
      throw err;
    }
  }
}
