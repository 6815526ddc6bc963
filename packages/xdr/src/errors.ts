/** Why decoding or encoding failed. Stable values, safe to switch on. */
export type XdrErrorCode =
  | 'XDR_TRUNCATED' // the input ended before the value did
  | 'XDR_OVERSIZE' // a length is larger than the definition allows
  | 'XDR_INVALID' // a value that the definition does not allow (bad enum, bad bool, bad UTF-8...)
  | 'XDR_TRAILING'; // bytes left over after the value

/**
 * An XDR value could not be decoded or encoded. `path` names what was being handled, outermost
 * first, e.g. `remote_node_get_info_ret.model[3]`.
 */
export class XdrError extends Error {
  override readonly name = 'XdrError';
  readonly code: XdrErrorCode;
  /** Where in the value: type and field names, array indexes. */
  readonly path: string;
  /** The problem itself, without the path. */
  readonly detail: string;
  /** Byte offset in the input (decoding) or output (encoding) where it happened. */
  readonly offset: number;

  constructor(code: XdrErrorCode, detail: string, offset: number, path = '') {
    super(path === '' ? `XDR: ${detail}` : `XDR: ${path}: ${detail}`);
    this.code = code;
    this.detail = detail;
    this.offset = offset;
    this.path = path;
  }

  /** The same error, one level further out (`outer` prepended to the path). */
  within(outer: string): XdrError {
    const path =
      this.path === ''
        ? outer
        : this.path.startsWith('[')
          ? outer + this.path
          : `${outer}.${this.path}`;
    return new XdrError(this.code, this.detail, this.offset, path);
  }
}
