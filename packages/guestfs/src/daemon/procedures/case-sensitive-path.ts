/**
 * case_sensitive_path: the true case of a path on a filesystem that ignores case (ntfs-3g
 * shows NTFS as case sensitive). The seed's example of a rewrite in a safe language: 183
 * lines of C, then 56 of OCaml; this is the same algorithm over the guest-path walk.
 * Element by element from the root, take the directory entry equal to it ignoring ASCII
 * case; the last element may be missing (kept as given); "//" is ignored.
 */
import type { ByteString } from '../bytes.js';
import type { Call } from '../call.js';
import { DaemonError, failure, perror, strerror } from '../errors.js';
import type { Handlers } from '../handler.js';
import { entries, openDirectory } from '../tree.js';

const lowerAscii = (s: ByteString): ByteString => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The entry of directory `dir` equal to `name` ignoring case, or null. `dir` was found by the
 * previous step: if it is not a directory, that is the error (as chdir would say).
 */
async function findElement(
  call: Call,
  dir: ByteString,
  name: ByteString,
): Promise<ByteString | null> {
  return call.sysroot.with(dir, { follow: true }, async (f) => {
    if (f.stat?.isDirectory() !== true) {
      throw new DaemonError('ENOTDIR', `chdir: ${f.name}: ${strerror('ENOTDIR')}`);
    }
    const handle = await openDirectory(f.dir, f.name);
    try {
      return (await entries(handle)).find((e) => lowerAscii(e) === lowerAscii(name)) ?? null;
    } finally {
      await handle.close();
    }
  });
}

export const caseSensitivePathHandlers = {
  case_sensitive_path: async ({ path }, call) => {
    try {
      return await trueCase(call, path);
    } catch (e) {
      throw perror(e, path);
    }
  },
} satisfies Handlers;

async function trueCase(call: Call, path: ByteString): Promise<ByteString> {
  const elements = path.split('/').slice(1);
  const found: ByteString[] = [];
  for (const [i, element] of elements.entries()) {
    if (element === '') continue;
    const last = i === elements.length - 1;
    if (last && (element === '.' || element === '..')) {
      throw failure('path contains "." or ".." elements');
    }
    const match = await findElement(call, `/${found.join('/')}`, element);
    if (last) return `/${[...found, match ?? element].join('/')}`;
    if (match === null) throw failure(`${element}: not found`);
    found.push(match);
  }
  // The path ended with a slash: what it names must be a directory too.
  const result = `/${found.join('/')}`;
  if (found.length > 0) await findElement(call, result, '');
  return result;
}
