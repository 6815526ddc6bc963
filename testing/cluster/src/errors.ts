/** Why the test cluster could not start or stop. Stable values, safe to switch on. */
export type ClusterErrorCode =
  | 'NOT_ROOT' // mount namespaces, libvirtd and sshd on port 22 need root
  | 'MISSING_PREREQUISITE' // a program, file or Debian package is not installed
  | 'ADDRESS_IN_USE' // something already listens on a node's address and port 22
  | 'BAD_OPTION' // an option has a value that cannot work (name, node count, prefix)
  | 'START_FAILED' // a daemon did not come up; the message says which and where its log is
  | 'IMAGE_BUILD_FAILED' // the guest image could not be built
  | 'NOT_RUNNING' // no cluster of that name is running
  | 'COMMAND_FAILED'; // a helper program exited with an error

/** An error with a stable `code` and a message that says what is wrong and how to fix it. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export { messageOf } from '@tsvirt/cli-kit';
