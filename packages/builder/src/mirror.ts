// Whether a build can install packages: `--install` runs apt in the guest's tree, in the
// appliance, whose user-mode network goes out through this machine's own sockets. So the
// question is asked here, of the mirror the guest's sources.list names, before anything is
// copied or launched: a build that cannot reach it is refused at once rather than failing
// in apt a minute later.
import { BuilderError, messageOf } from './errors.js';

const TIMEOUT_MS = 10_000;

/** Why the mirror cannot be reached, or null when it answers. */
export async function mirrorProblem(mirror: string, suite: string): Promise<string | null> {
  const url = `${mirror.replace(/\/+$/, '')}/dists/${suite}/Release`;
  try {
    const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(TIMEOUT_MS) });
    return response.ok ? null : `${url} answered ${response.status} ${response.statusText}`;
  } catch (error) {
    const cause = error instanceof Error && error.cause !== undefined ? messageOf(error.cause) : '';
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : cause || messageOf(error);
    return `${url}: ${reason}`;
  }
}

export async function requireMirror(
  mirror: string,
  suite: string,
  packages: readonly string[],
): Promise<void> {
  const problem = await mirrorProblem(mirror, suite);
  if (problem !== null) {
    throw new BuilderError(
      'NO_MIRROR',
      `--install ${packages.join(',')}: refused: the guest's packages come from ${mirror} at build time, and it cannot be reached from here (${problem}). ` +
        'Boot the guest without --install and install them there, or set TSVIRT_DEBIAN_MIRROR to a mirror this machine reaches (a new base image is built for it)',
    );
  }
}
