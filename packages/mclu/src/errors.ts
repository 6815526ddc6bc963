/** Every error mclu reports to a user. `code` is stable (scripts may match on it); the
 *  message says what is wrong, where, and how to fix it. */
export class McluError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The configuration file is missing, unreadable or invalid. */
export class ConfigError extends McluError {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super('CONFIG', `${file}: ${message}`, options);
    this.file = file;
  }
}

/** A command line value is malformed (exit status 2, like a usage error). */
export class UsageError extends McluError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A node named on the command line is not in the configuration, or cannot be reached. */
export class NodeError extends McluError {
  readonly node: string;
  constructor(
    code: 'UNKNOWN_NODE' | 'NODE_OFF' | 'NODE_BUSY' | 'NODE_COMMAND',
    node: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.node = node;
  }
}

/** A guest is not found, or its name is already taken. */
export class GuestError extends McluError {
  readonly guest: string;
  constructor(
    code: 'UNKNOWN_GUEST' | 'GUEST_EXISTS' | 'GUEST_AMBIGUOUS' | 'GUEST_STATE',
    guest: string,
    message: string,
  ) {
    super(code, message);
    this.guest = guest;
  }
}

/** A template is missing, broken, or its build failed. */
export class TemplateError extends McluError {
  readonly template: string;
  constructor(code: 'UNKNOWN_TEMPLATE' | 'TEMPLATE_FAILED', template: string, message: string) {
    super(code, message);
    this.template = template;
  }
}

/** A step of a multi-step operation failed (boot, migrate, delete...): says which. */
export class OperationError extends McluError {
  constructor(
    code:
      | 'BOOT_FAILED'
      | 'IMPORT_FAILED'
      | 'MIGRATE_FAILED'
      | 'NO_ROOM'
      | 'TOOL_MISSING'
      | 'OPERATION_FAILED'
      | 'INTERRUPTED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

export { messageOf } from '@tsvirt/cli-kit';

/** True for the error an aborted operation ends with (mclu was interrupted). */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
