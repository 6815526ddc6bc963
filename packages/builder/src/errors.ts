/** Every error the builder reports. `code` is stable; the message says what is wrong and
 *  how to fix it. */
export type BuilderErrorCode =
  /** A request that cannot be built as asked (a bad option value, a size too small...). */
  | 'BAD_REQUEST'
  /** Building a base image needs root (debootstrap, chroot) and this process is not. */
  | 'NOT_ROOT'
  /** `--install` was asked for and the package mirror cannot be reached from here. */
  | 'NO_MIRROR'
  /** A program the build runs (debootstrap, tar, qemu-img...) failed. */
  | 'COMMAND_FAILED'
  /** The build was stopped (an abort signal). */
  | 'INTERRUPTED';

export class BuilderError extends Error {
  readonly code: BuilderErrorCode;
  constructor(code: BuilderErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BuilderError';
    this.code = code;
  }
}

export { messageOf } from '@tsvirt/cli-kit';
