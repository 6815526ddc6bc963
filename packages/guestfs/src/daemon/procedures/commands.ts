/**
 * Running the guest's own programs: chroot(8) into the sysroot (Node cannot chroot itself)
 * with the appliance's /dev, /dev/pts, /proc and /sys bind-mounted on the guest's, as
 * guestfsd does. The bind targets are guest paths, walked and handed over as descriptors
 * like any mount point; a guest without one of those directories just goes without.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { type ByteString, byteString } from '../bytes.js';
import type { Call } from '../call.js';
import { failure } from '../errors.js';
import { O_PATH } from '../guest-path.js';
import type { Handlers } from '../handler.js';
import { mountsUnder } from '../mounts.js';
import { argument, errorText, run } from '../run.js';

/** Appliance directories bound onto the guest's for a command (source, guest target). */
const BINDS: readonly (readonly [string, ByteString])[] = [
  ['/dev', '/dev'],
  ['/dev/pts', '/dev/pts'],
  ['/proc', '/proc'],
  ['/sys/fs/selinux', '/selinux'],
  ['/sys', '/sys'],
  ['/sys/fs/selinux', '/sys/fs/selinux'],
];

/** Bind-mounts what it can; returns the host paths mounted, to unmount in reverse. */
async function bindMount(call: Call): Promise<string[]> {
  const mounted: string[] = [];
  for (const [source, target] of BINDS) {
    try {
      await call.sysroot.with(target, { follow: true }, async (f) => {
        if (f.stat?.isDirectory() !== true) return;
        // Unmounted afterwards by its path, which must then be passable to umount(8).
        const hostPath = argument(`${call.sysroot.path}${f.canonical}`, 'mount point');
        const handle = await open(f.at, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          const at = `/proc/${process.pid}/fd/${handle.fd}`;
          const r = await run('mount', ['--no-canonicalize', '--bind', source, at]);
          if (r.status === 0) mounted.push(hostPath);
        } finally {
          await handle.close();
        }
      });
    } catch {
      // no such directory in the guest: the command runs without it
    }
  }
  return mounted;
}

/** Runs argv in the guest; its stdout. A non-zero exit fails with its stderr. */
async function runInGuest(call: Call, argv: readonly ByteString[]): Promise<ByteString> {
  if ((await mountsUnder(call.sysroot.path)).length === 0) {
    throw failure("do_command: you must call 'mount' first to mount the root filesystem");
  }
  if (argv.length === 0) throw failure('passed an empty list');
  const args = argv.map((a, i) => argument(a, `argument ${i + 1}`));
  const mounted = await bindMount(call);
  try {
    const r = await run('chroot', [call.sysroot.path, ...args]);
    if (r.status === 0) return byteString(r.stdout);
    // chroot(8) words a missing program its own way; guestfsd says "PROGRAM: strerror".
    const m = /^chroot: failed to run command '(.*)': (.*)$/.exec(errorText(r));
    throw failure(m === null ? errorText(r) : `${m[1]}: ${m[2]}`);
  } finally {
    for (const dir of mounted.reverse()) await run('umount', [dir]);
  }
}

/** Output lines: "a\nb\n" is [a, b], "" is [], "\n" is [""] (guestfsd's split_lines). */
function lines(out: ByteString): ByteString[] {
  if (out === '') return [];
  return out.replace(/\n$/, '').split('\n');
}

export const commandHandlers = {
  command: ({ arguments: argv }, call) => runInGuest(call, argv),
  command_lines: async ({ arguments: argv }, call) => lines(await runInGuest(call, argv)),
  sh: ({ command }, call) => runInGuest(call, ['/bin/sh', '-c', command]),
  sh_lines: async ({ command }, call) => lines(await runInGuest(call, ['/bin/sh', '-c', command])),
} satisfies Handlers;
