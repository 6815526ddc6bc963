// Files that can make mclu run commands (the configuration, whose ssh_config can hold a
// ProxyCommand; templates, which mclu executes) are trusted as OpenSSH trusts its own:
// owned by root or by the user running mclu, and not writable by group or others.
import { closeSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';

/** Why a file with this owner and mode is not trusted by user `uid`, or null if it is. */
export function distrust(stat: Pick<Stats, 'uid' | 'mode'>, uid: number): string | null {
  if (stat.uid !== 0 && stat.uid !== uid) {
    return `it is owned by uid ${stat.uid}, neither you (uid ${uid}) nor root; anyone who can change it can make mclu run commands`;
  }
  if ((stat.mode & 0o022) === 0) return null;
  const writers = [stat.mode & 0o020 ? 'its group' : null, stat.mode & 0o002 ? 'others' : null]
    .filter((w) => w !== null)
    .join(' and ');
  const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
  return `it is writable by ${writers} (mode ${mode}); fix with chmod go-w`;
}

const currentUid = (): number => process.getuid?.() ?? 0;

/** Reads a file after checking, on the open file itself (no race with a swap of the path),
 *  that it is trusted. Throws the fs error, or an Error saying why the file is refused. */
export function readTrustedFile(path: string, uid = currentUid()): string {
  const fd = openSync(path, 'r');
  try {
    const reason = distrust(fstatSync(fd), uid);
    if (reason !== null) throw new UntrustedFileError(path, reason);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Checks a file that another program reads or runs later (ssh_config, a template). */
export function checkTrustedPath(path: string, uid = currentUid()): void {
  const reason = distrust(statSync(path), uid);
  if (reason !== null) throw new UntrustedFileError(path, reason);
}

export class UntrustedFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`refusing ${path}: ${reason}`);
  }
}
