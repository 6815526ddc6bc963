/**
 * The daemon's strings are bytes. Linux file names, command output and device names are byte
 * sequences that need not be UTF-8, and the C library sends them as such; so the daemon
 * decodes every protocol string with one character (U+0000-U+00FF) per byte and encodes it
 * back the same way (@tsvirt/xdr's `strings: 'bytes'`). Host paths are made from them as
 * Buffers, never through UTF-8.
 */

/** A string of bytes: one character, U+0000-U+00FF, per byte. */
export type ByteString = string;

/** The bytes of a byte string (for fs calls: Node takes Buffer paths). */
export function bytesOf(s: ByteString): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Bytes (a file name from readdir, a command's output) as a byte string. */
export function byteString(bytes: Uint8Array): ByteString {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Text written here (an error message with a non-ASCII character) as its UTF-8 bytes. */
export function utf8Bytes(text: string): ByteString {
  return Buffer.from(text, 'utf8').toString('latin1');
}
