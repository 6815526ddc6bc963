// Finding and stopping every process of a cluster, even after a crash left no record: a
// process belongs to a cluster when its mount table holds a bind mount from the cluster's
// directory, which is true of each node's namespace holder, libvirtd, sshd, the sessions
// sshd started and the qemu guests libvirtd started, and of nothing else; or, for the
// cluster's helpers in the host's namespace (the wake-on-LAN listener), when its command
// line holds the argument helperMarker(dir).
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync, readdirSync } from 'node:fs';

export interface ClusterProcess {
  pid: number;
  /** The program name (/proc/PID/comm), e.g. 'libvirtd', 'sshd', 'qemu-system-x86'. */
  comm: string;
  /** In one of the cluster's namespaces (else a helper found by its command line). */
  inNamespace: boolean;
}

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null; // the process ended meanwhile, or is a kernel thread we may not read
  }
}

/** Mount roots in a mountinfo text (the 4th field, octal escapes as the kernel writes them). */
function mountRoots(mountinfo: string): string[] {
  return mountinfo.split('\n').map((line) => (line.split(' ')[3] ?? '').replace(/\\040/g, ' '));
}

/** The argument that marks a helper process of the cluster in `dir`. */
export function helperMarker(dir: string): string {
  return `--cluster-dir=${dir}`;
}

/** Processes whose mount namespace has a bind mount from under `dir`, and the helpers whose
 *  command line has helperMarker(dir). */
export function findProcessesUsing(dir: string): ClusterProcess[] {
  const marker = helperMarker(dir.replace(/\/+$/, ''));
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found: ClusterProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const mountinfo = readProc(pid, 'mountinfo');
    if (mountinfo === null) continue;
    const inNamespace = mountRoots(mountinfo).some((root) => root.startsWith(prefix));
    if (!inNamespace && !(readProc(pid, 'cmdline') ?? '').split('\0').includes(marker)) continue;
    const comm = (readProc(pid, 'comm') ?? '').trim();
    found.push({ pid, comm, inNamespace });
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0) but is gone for every purpose here.
  const stat = readProc(pid, 'stat');
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL for those still alive after `graceMs`; waits until all are gone. */
export async function terminate(pids: readonly number[], graceMs = 3000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = alive.filter(isAlive);
  }
  for (const pid of alive) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (alive.length > 0 && Date.now() < killDeadline) {
    await sleep(50);
    alive = alive.filter(isAlive);
  }
}

/**
 * Stops everything of a cluster (or of one node, given its directory), in the order that
 * loses least: helpers first (the wake-on-LAN listener would start nodes again), then guests
 * (so libvirtd is not left waiting on them), then the daemons and their sessions, then the
 * namespace holders. The namespaces and their mounts go with their last process.
 */
export async function stopProcessesUsing(dir: string): Promise<void> {
  const pidsOf = (keep: (p: ClusterProcess) => boolean): number[] =>
    findProcessesUsing(dir)
      .filter(keep)
      .map((p) => p.pid);
  await terminate(
    pidsOf((p) => !p.inNamespace),
    2000,
  );
  await terminate(
    pidsOf((p) => p.comm.startsWith('qemu')),
    2000,
  );
  await terminate(pidsOf((p) => p.comm !== 'sleep'));
  await terminate(
    pidsOf(() => true),
    1000,
  );
}
