// What the integration tests share: a test cluster with mclu's configuration for it (its
// own ssh control directory, a test template), mclu run as a subprocess exactly as a user
// runs it, and virsh on every node as the judge of what the nodes hold.
import { startCluster, type Cluster, type ClusterNode } from '@tsvirt/testcluster';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A template for tests: fast (qemu-img create), and slow or hanging on demand through its
 *  environment (FAULT_PROBE_SLEEP, FAULT_BUILD_SLEEP); with FAULT_PIDS it records the pids
 *  of its build and of the child it waits for, so that a test can check they are gone. Its
 *  disk is written out (preallocation=full), not a hole: uploads are sparse, and the fault
 *  tests need an upload that moves the whole size, to catch it in the middle. */
export const FAULT_TEMPLATE = `#!/bin/sh
case "$1" in
  probe) [ -n "\${FAULT_PROBE_SLEEP:-}" ] && sleep "$FAULT_PROBE_SLEEP"; echo hello ;;
  base-image) echo fault ;;
  disk-bus) echo virtio ;;
  build)
    [ -n "\${FAULT_PIDS:-}" ] && echo $$ >> "$FAULT_PIDS"
    if [ -n "\${FAULT_BUILD_SLEEP:-}" ]; then
      sleep "$FAULT_BUILD_SLEEP" &
      [ -n "\${FAULT_PIDS:-}" ] && echo $! >> "$FAULT_PIDS"
      wait
    fi
    qemu-img create -q -f "$format" -o preallocation=full "$output" "\${size:-4M}" ;;
  *) exit 2 ;;
esac
`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class McluCluster {
  /** TMPDIR of every mclu run: must be empty after each (no temporary disk left). */
  readonly tmp: string;
  readonly config: string;
  readonly controlDir: string;

  private constructor(
    readonly cluster: Cluster,
    readonly work: string,
  ) {
    this.tmp = join(work, 'tmp');
    this.config = join(work, 'mclu.conf');
    this.controlDir = join(work, 'cm');
  }

  /** Starts the cluster and writes mclu.conf: the cluster's, plus `extra` [defaults] lines,
   *  the test template's directory, and a private ssh control directory. */
  static async start(
    name: string,
    addressPrefix: string,
    extraDefaults: string[] = [],
    nodes = 3,
  ): Promise<McluCluster> {
    const cluster = await startCluster({ name, nodes, addressPrefix });
    // Short: ssh's control socket paths must fit in 108 bytes.
    const work = await mkdtemp(join('/tmp', 'mclu-'));
    const self = new McluCluster(cluster, work);
    await mkdir(self.tmp);
    await mkdir(join(work, 'templates'));
    await writeFile(join(work, 'templates', 'fault.template'), FAULT_TEMPLATE);
    await chmod(join(work, 'templates', 'fault.template'), 0o755);
    await self.writeConfig(self.config, extraDefaults);
    return self;
  }

  /** A configuration like the cluster's, with these [defaults] lines added or replaced. */
  async writeConfig(file: string, extraDefaults: string[]): Promise<string> {
    const base = await readFile(this.cluster.mcluConfig, 'utf8');
    const keys = extraDefaults.map((l) => l.split('=')[0]?.trim() ?? '');
    const kept = base
      .split('\n')
      .filter((line) => !keys.some((k) => line.startsWith(`${k} =`)))
      .join('\n')
      .replace(
        /^templates = \[(.*)\]$/m,
        `templates = [$1, ${JSON.stringify(join(this.work, 'templates'))}]`,
      )
      .replace(
        /^\[defaults\]$/m,
        [
          '[defaults]',
          `ssh_control_dir = ${JSON.stringify(this.controlDir)}`,
          ...extraDefaults,
        ].join('\n'),
      );
    await writeFile(file, kept);
    return file;
  }

  node(name: string): ClusterNode {
    const found = this.cluster.nodes.find((n) => n.name === name);
    assert.ok(found, `no ${name} in the test cluster`);
    return found;
  }

  get nodes(): ClusterNode[] {
    return this.cluster.nodes.filter((n) => n.state === 'on');
  }

  /** Runs mclu to the end. */
  run(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [MAIN, '-f', options.config ?? this.config, ...args],
        { timeout: 300_000, env: this.env(options.env) },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
            stdout,
            stderr,
          }),
      );
    });
  }

  async ok(...args: string[]): Promise<string> {
    const run = await this.run(args);
    assert.equal(
      run.code,
      0,
      `mclu ${args.join(' ')} failed (${run.code}):\n${run.stderr}${run.stdout}`,
    );
    return run.stdout;
  }

  /** Starts mclu and returns it with a way to wait for a line on its stderr. */
  spawn(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv } = {}): RunningMclu {
    const child = spawn(process.execPath, [MAIN, '-f', options.config ?? this.config, ...args], {
      env: this.env(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RunningMclu(child);
  }

  private env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, NO_COLOR: '1', TMPDIR: this.tmp, ...extra };
  }

  /** virsh on the node itself (inside its namespace), failing the test on an error. */
  async virsh(node: ClusterNode, ...args: string[]): Promise<string> {
    const r = await this.cluster.exec(node, ['virsh', '-q', '-c', 'qemu:///system', ...args]);
    assert.equal(r.code, 0, `virsh ${args.join(' ')} on ${node.name}: ${r.stderr}`);
    return r.stdout;
  }

  /** Mounts a tmpfs of `size` (e.g. "48m") over the node's images directory, seen by its
   *  libvirtd only: a pool that fills up. */
  async mountSmallPool(node: ClusterNode, size: string): Promise<void> {
    const mount = await this.cluster.exec(node, [
      'mount',
      '-t',
      'tmpfs',
      '-o',
      `size=${size}`,
      'tmpfs',
      '/var/lib/libvirt/images',
    ]);
    assert.equal(mount.code, 0, mount.stderr);
    await this.virsh(node, 'pool-refresh', 'default');
  }

  async unmountSmallPool(node: ClusterNode): Promise<void> {
    await this.cluster.exec(node, ['umount', '/var/lib/libvirt/images']);
    await this.virsh(node, 'pool-refresh', 'default');
  }

  /** What virsh sees on a node: guest name -> state, and the volumes of the images pool. */
  async holds(node: ClusterNode): Promise<{ guests: Map<string, string>; volumes: string[] }> {
    const names = lines(await this.virsh(node, 'list', '--all', '--name'));
    const guests = new Map<string, string>();
    for (const name of names) guests.set(name, (await this.virsh(node, 'domstate', name)).trim());
    await this.virsh(node, 'pool-refresh', 'default');
    const volumes = lines(await this.virsh(node, 'vol-list', 'default')).map(
      (l) => l.trim().split(/\s+/)[0] ?? '',
    );
    return { guests, volumes };
  }

  /** Asserts that no node holds a guest or a volume of this name, and that no mclu run
   *  left a file in its TMPDIR. */
  async assertNothingOf(name: string, nodes = this.nodes): Promise<void> {
    for (const node of nodes) {
      const { guests, volumes } = await this.holds(node);
      assert.equal(guests.has(name), false, `${node.name} still has a guest ${name}`);
      assert.deepEqual(
        volumes.filter((v) => v.startsWith(`${name}.`)),
        [],
        `${node.name} still has a volume of ${name}`,
      );
    }
    assert.deepEqual(await readdir(this.tmp), [], 'mclu left files in its TMPDIR');
  }

  /** Stops the ssh masters of the tests' control directory, then the cluster. */
  async stop(): Promise<void> {
    await stopSshMasters(this.controlDir);
    await this.cluster.stop();
    await rm(this.work, { recursive: true, force: true });
  }
}

/** `ssh -O exit` for every control socket in the directory; resolves when they are gone. */
export async function stopSshMasters(dir: string): Promise<void> {
  const sockets = await readdir(dir).catch(() => []);
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) =>
          execFile(
            'ssh',
            ['-o', `ControlPath=${join(dir, socket)}`, '-O', 'exit', 'mclu-test'],
            () => resolve(),
          ),
        ),
    ),
  );
}

/** The pids of the ssh masters using this control directory. */
export async function sshMasters(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('ssh') && cmdline.includes(dir) && cmdline.includes('[mux]'))
      pids.push(Number(entry));
  }
  return pids;
}

export class RunningMclu {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (b: Buffer) => (this.stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => resolve(code ?? (signal ? -1 : 0))),
    );
  }

  /** Waits until stderr matches; fails the test if mclu ends first or it takes too long. */
  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => (ended = true));
    while (!pattern.test(this.stderr)) {
      if (ended || Date.now() > deadline)
        assert.fail(
          `mclu ${ended ? 'ended' : 'ran on'} without ${pattern} on stderr:\n${this.stderr}`,
        );
      await sleep(20);
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async result(): Promise<Run> {
    const code = await this.exited;
    return { code, stdout: this.stdout, stderr: this.stderr };
  }
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** The `remove with:` commands of an error message, ready to run (with --yes). */
export function removeCommands(stderr: string): string[][] {
  return [...stderr.matchAll(/remove with: mclu (.*)$/gm)].map((m) => [
    ...(m[1] ?? '').split(' '),
    '--yes',
  ]);
}

/** Whether a process is alive (and not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat);
}
