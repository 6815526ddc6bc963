// What the integration tests share: running virsh and ssh against a cluster, waiting for the
// guest's serial console, and proving that nothing of a cluster is left.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Cluster, ClusterNode } from '../../src/index.js';
import { findProcessesUsing } from '../../src/processes.js';

const execFileAsync = promisify(execFile);

export async function run(argv: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const [program, ...args] = argv;
  const { stdout } = await execFileAsync(program ?? '', args, {
    encoding: 'utf8',
    env: env ?? process.env,
    timeout: 120_000,
  });
  return stdout;
}

export function virsh(uri: string, ...args: string[]): Promise<string> {
  return run(['virsh', '-q', '-c', uri, ...args]);
}

/** Waits until `file` has a line matching `pattern`; returns that line. */
export async function waitForLine(
  file: string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    // A pty console ends lines with \r\n and may start them with \r.
    const line = text.split(/[\r\n]+/).find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (Date.now() > deadline) {
      assert.fail(
        `no line matching ${String(pattern)} in ${file} after ${timeoutMs / 1000} s; it holds:\n${text.slice(-2000)}`,
      );
    }
    await sleep(200);
  }
}

export function onNodes(cluster: Cluster): ClusterNode[] {
  return cluster.nodes.filter((n) => n.state === 'on');
}

/** No process, mount or file of the cluster is left on the machine. */
export function assertNothingLeft(cluster: Cluster): void {
  assert.deepEqual(findProcessesUsing(cluster.dir), [], 'processes of the cluster are left');
  for (const node of cluster.nodes) {
    const recorded: [number, string][] = [
      [node.holderPid, 'sleep'],
      [node.libvirtdPid, 'libvirtd'],
      [node.sshdPid, 'sshd'],
    ];
    for (const [pid, comm] of recorded) {
      if (pid > 0)
        assert.ok(!isRunning(pid, comm), `${node.name}: ${comm} (pid ${pid}) is still running`);
    }
  }
  assert.ok(
    !readFileSync('/proc/self/mountinfo', 'utf8').includes(cluster.dir),
    'a mount of the cluster is left',
  );
  assert.ok(!existsSync(cluster.dir), `${cluster.dir} is left`);
}

function isRunning(pid: number, comm: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.startsWith(`${pid} (${comm}) `) && !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
