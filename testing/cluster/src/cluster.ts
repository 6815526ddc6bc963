// Starting, describing and stopping a whole test cluster. The cluster's directory holds
// everything it made (keys, configs, each node's state); `state.json` records the nodes and
// daemons so that another process (the CLI's `status` and `down`) can find them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accelRequest, decideAccel, type AccelChoice, type AccelMode } from './accel.js';
import {
  clusterSshConfig,
  knownHostsLine,
  macFromAddress,
  mcluConf,
  sshWrapper,
} from './config-files.js';
import { ClusterError, messageOf } from './errors.js';
import type { ExecResult } from './exec.js';
import {
  ensureMountPoints,
  execInNamespace,
  makeHostKey,
  makeKeyPair,
  startNode,
  writeNodeFiles,
  type NodeSpec,
} from './node.js';
import { ensureGuestImage } from './guest-image.js';
import { clusterDir, NodePaths, STATE_ROOT } from './paths.js';
import { probeAndShareQemuCapabilities, seedQemuCapabilities } from './qemu-caps.js';
import { startWakeOnLanListener } from './wake-on-lan.js';
import {
  checkAddressFree,
  checkImagePrerequisites,
  checkNodePrerequisites,
  checkRoot,
} from './prerequisites.js';
import {
  findProcessesUsing,
  isAlive,
  stopProcessesUsing,
  type ClusterProcess,
} from './processes.js';
import { templatesDir } from './template.js';

export interface ClusterOptions {
  /** Names the run; state lives in /var/tmp/tsvirt-cluster/<name>. A crashed earlier run of
   *  the same name is cleaned up by the next start. Default 'default'. */
  name?: string;
  /** Nodes that run (default 3) and nodes configured but off (default 0). */
  nodes?: number;
  offNodes?: number;
  /** Node i (1-based) gets address `${addressPrefix}${10 + i}`, sshd on port 22.
   *  Default '127.0.0.' (node 1 at 127.0.0.11). */
  addressPrefix?: string;
  /** Listen for wake-on-LAN magic packets on `${addressPrefix}1` UDP port 9 (mclu.conf's
   *  wol_address) and power on the node whose MAC they carry. Default false (tests that
   *  listen there themselves would clash); the CLI turns it on. */
  wakeOnLan?: boolean;
  /** tcg or kvm forces the guests' accelerator; probe uses KVM only where a probe boot of
   *  the test guest works (cached per machine). Default: $TSVIRT_CLUSTER_ACCEL, else probe. */
  accel?: AccelMode;
}

export interface ClusterNode {
  name: string;
  address: string;
  state: 'on' | 'off';
  sshDestination: string;
  uri: string;
  /** The node's libvirt unix socket as seen from the host (for tests using the unix transport). */
  libvirtSocket: string;
  /** `qemu+unix:///system?socket=...`: the node's libvirtd over its unix socket, from the host. */
  unixUri: string;
  /** `qemu+ssh://root@ADDRESS/system?command=...`: the node over ssh with the cluster's ssh
   *  configuration, usable as is with `virsh -c` from the host. */
  virshUri: string;
  imagesDir: string;
  /** The node's /var/log/libvirt as seen from the host (qemu/NAME.log, serial logs). */
  logDir: string;
  macAddress: string;
  /** Pids of the node's processes, 0 for an off node. */
  holderPid: number;
  libvirtdPid: number;
  sshdPid: number;
}

export interface Cluster {
  readonly name: string;
  readonly dir: string;
  readonly nodes: ClusterNode[];
  /** ssh_config under which `ssh -F <sshConfig> root@ADDRESS` works. */
  readonly sshConfig: string;
  readonly privateKey: string;
  /** An executable `ssh -F sshConfig "$@"`, for libvirt URIs' `?command=` and for tools
   *  that take an ssh program. */
  readonly sshCommand: string;
  /** mclu.conf (TOML) describing the cluster. */
  readonly mcluConfig: string;
  /** host:port where mclu.conf sends wake-on-LAN packets (listened to if wakeOnLan). */
  readonly wolAddress: string;
  /** What the guests run under (mclu.conf's domain_type) and why. */
  readonly accel: AccelChoice;
  /** Run a command inside a node's mount namespace (to check files, run virsh -c qemu:///system). */
  exec(node: ClusterNode, argv: string[]): Promise<ExecResult>;
  /** Starts a node that is off (configured with offNodes, or powered off): a fresh namespace,
   *  libvirtd and sshd over the node's kept state (images, defined guests). */
  powerOn(node: ClusterNode): Promise<void>;
  /** Powers a node off: its guests are killed, then its libvirtd, sshd and namespace. */
  powerOff(node: ClusterNode): Promise<void>;
  /** The processes running in a node now (libvirtd, sshd and its sessions, qemu...), for
   *  tests that stop or kill one of them by pid. */
  processes(node: ClusterNode): ClusterProcess[];
  stop(): Promise<void>;
}

interface ClusterState {
  name: string;
  wolAddress: string;
  /** Absent until the probe is done (and in a state file of an older version). */
  accel?: AccelChoice;
  nodes: ClusterNode[];
}

/** Before the accelerator is decided, and for state files written before there was one. */
const UNDECIDED: AccelChoice = {
  domainType: 'qemu',
  source: 'forced',
  reason: 'not recorded (the cluster did not finish starting, or an older version started it)',
};

const DEFAULTS: Required<Omit<ClusterOptions, 'accel'>> = {
  name: 'default',
  nodes: 3,
  offNodes: 0,
  addressPrefix: '127.0.0.',
  wakeOnLan: false,
};
const MAX_NODES = 40;

function checkOptions(o: Required<Omit<ClusterOptions, 'accel'>>): void {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(o.name) || o.name === 'cache') {
    throw new ClusterError(
      'BAD_OPTION',
      `bad cluster name "${o.name}": use 1 to 32 lowercase letters, digits and "-" (not "cache")`,
    );
  }
  if (
    !Number.isInteger(o.nodes) ||
    !Number.isInteger(o.offNodes) ||
    o.nodes < 1 ||
    o.offNodes < 0 ||
    o.nodes + o.offNodes > MAX_NODES
  ) {
    throw new ClusterError(
      'BAD_OPTION',
      `bad node counts (${o.nodes} on, ${o.offNodes} off): at least 1 node on, at most ${MAX_NODES} in all`,
    );
  }
  if (
    !/^127\.\d{1,3}\.\d{1,3}\.$/.test(o.addressPrefix) ||
    o.addressPrefix
      .split('.')
      .slice(1, 3)
      .some((x) => Number(x) > 255)
  ) {
    throw new ClusterError(
      'BAD_OPTION',
      `bad address prefix "${o.addressPrefix}": give three octets of a loopback address with the final dot, e.g. 127.0.1.`,
    );
  }
}

function clusterFiles(dir: string): {
  sshConfig: string;
  privateKey: string;
  sshCommand: string;
  mcluConfig: string;
  knownHosts: string;
  state: string;
} {
  return {
    sshConfig: join(dir, 'ssh_config'),
    privateKey: join(dir, 'id_ed25519'),
    sshCommand: join(dir, 'ssh'),
    mcluConfig: join(dir, 'mclu.conf'),
    knownHosts: join(dir, 'known_hosts'),
    state: join(dir, 'state.json'),
  };
}

function describeNode(
  dir: string,
  sshCommand: string,
  index: number,
  prefix: string,
  on: boolean,
): ClusterNode {
  const name = `node${index}`;
  const address = `${prefix}${10 + index}`;
  const paths = new NodePaths(join(dir, 'nodes', name));
  return {
    name,
    address,
    state: on ? 'on' : 'off',
    sshDestination: `root@${address}`,
    uri: `qemu+ssh://root@${address}/system`,
    libvirtSocket: paths.libvirtSocket,
    unixUri: `qemu+unix:///system?socket=${paths.libvirtSocket}`,
    virshUri: `qemu+ssh://root@${address}/system?command=${sshCommand}`,
    imagesDir: paths.imagesDir,
    logDir: paths.sub('log'),
    macAddress: macFromAddress(address),
    holderPid: 0,
    libvirtdPid: 0,
    sshdPid: 0,
  };
}

const nodeSpec = (dir: string, node: ClusterNode): NodeSpec => ({
  name: node.name,
  address: node.address,
  paths: new NodePaths(join(dir, 'nodes', node.name)),
});

class RunningCluster implements Cluster {
  readonly sshConfig: string;
  readonly privateKey: string;
  readonly sshCommand: string;
  readonly mcluConfig: string;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly nodes: ClusterNode[],
    readonly wolAddress: string,
    readonly accel: AccelChoice,
  ) {
    const files = clusterFiles(dir);
    this.sshConfig = files.sshConfig;
    this.privateKey = files.privateKey;
    this.sshCommand = files.sshCommand;
    this.mcluConfig = files.mcluConfig;
  }

  async exec(node: ClusterNode, argv: string[]): Promise<ExecResult> {
    if (!isAlive(node.holderPid)) {
      throw new ClusterError('NOT_RUNNING', `${node.name} of cluster ${this.name} is not running`);
    }
    return execInNamespace(node.holderPid, argv);
  }

  async powerOn(node: ClusterNode): Promise<void> {
    const spec = nodeSpec(this.dir, node);
    await stopProcessesUsing(spec.paths.dir); // what a poweroff left: the namespace holder
    Object.assign(node, await startNode(spec), { state: 'on' });
    this.#save();
  }

  processes(node: ClusterNode): ClusterProcess[] {
    return findProcessesUsing(nodeSpec(this.dir, node).paths.dir).filter((p) => p.inNamespace);
  }

  async powerOff(node: ClusterNode): Promise<void> {
    await stopProcessesUsing(nodeSpec(this.dir, node).paths.dir);
    Object.assign(node, { state: 'off', holderPid: 0, libvirtdPid: 0, sshdPid: 0 });
    this.#save();
  }

  #save(): void {
    writeState(clusterFiles(this.dir).state, {
      name: this.name,
      wolAddress: this.wolAddress,
      accel: this.accel,
      nodes: this.nodes,
    });
  }

  stop(): Promise<void> {
    return stopCluster(this.name);
  }
}

/** Starts a cluster; a cluster of the same name left over from an earlier run is stopped and
 *  removed first. On failure everything started so far is stopped again. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const o = { ...DEFAULTS, ...options };
  checkOptions(o);
  const accelWanted = accelRequest(options.accel);
  checkNodePrerequisites();
  checkImagePrerequisites();
  await stopCluster(o.name);

  const dir = clusterDir(o.name);
  const files = clusterFiles(dir);
  const wolAddress = `${o.addressPrefix}1:9`;
  const nodes = Array.from({ length: o.nodes + o.offNodes }, (_, i) =>
    describeNode(dir, files.sshCommand, i + 1, o.addressPrefix, i < o.nodes),
  );
  for (const node of nodes) {
    await checkAddressFree(node.address, node.name, clusterUsing(node.address));
  }
  let accel = UNDECIDED;
  try {
    const capabilitiesShared = await writeClusterFiles(o.name, dir, nodes);
    // Record what is being started before starting it, so a crash mid-way is cleaned up.
    writeState(files.state, { name: o.name, wolAddress, nodes });

    // Meanwhile the guest image is built (or found in the cache), so the template is ready,
    // and the accelerator is decided (a probe boot of that image, the first time).
    const running = nodes.filter((n) => n.state === 'on');
    const [started, decided] = await settleAll([
      settleAll(running.map((n) => startNode(nodeSpec(dir, n)))),
      ensureGuestImage().then((image) => decideAccel(accelWanted, image)),
    ] as const);
    running.forEach((n, i) => Object.assign(n, started[i]));
    accel = decided;
    writeMcluConf(o.name, dir, nodes, wolAddress, accel);
    if (!capabilitiesShared && running[0] !== undefined) {
      const caches = nodes.map((n) => nodeSpec(dir, n).paths.sub('cache'));
      await probeAndShareQemuCapabilities(running[0].libvirtSocket, caches);
    }
    writeState(files.state, { name: o.name, wolAddress, accel, nodes });
    if (o.wakeOnLan) await startWakeOnLanListener(dir, wolAddress);
  } catch (error) {
    await stopCluster(o.name).catch(() => undefined);
    if (error instanceof ClusterError) throw error;
    throw new ClusterError(
      'START_FAILED',
      `could not start cluster ${o.name}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  return new RunningCluster(o.name, dir, nodes, wolAddress, accel);
}

/** Like Promise.all, but waits for every promise before failing, so that nothing is still
 *  starting while a failed start is being cleaned up. */
async function settleAll<T extends readonly unknown[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/** Writes the cluster's key, ssh config, ssh wrapper and every node's files (off nodes too,
 *  so that they can be powered on later). Returns whether qemu's capabilities were found in
 *  the shared cache. */
async function writeClusterFiles(
  name: string,
  dir: string,
  nodes: ClusterNode[],
): Promise<boolean> {
  const files = clusterFiles(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  ensureMountPoints();
  const publicKey = await makeKeyPair(files.privateKey, `tsvirt-cluster-${name}`);
  const specs = nodes.map((n) => nodeSpec(dir, n));
  const hostKeys = await Promise.all(specs.map((spec) => makeHostKey(spec)));
  const keys = {
    privateKey: readFileSync(files.privateKey, 'utf8'),
    publicKey,
    knownHosts: nodes.map((n, i) => knownHostsLine(n.address, hostKeys[i] ?? '')).join(''),
  };
  writeFileSync(files.knownHosts, keys.knownHosts);
  const addresses = nodes.map((n) => n.address);
  writeFileSync(files.sshConfig, clusterSshConfig(addresses, files.privateKey, files.knownHosts));
  writeFileSync(files.sshCommand, sshWrapper(files.sshConfig), { mode: 0o755 });
  let capabilitiesShared = true;
  for (const spec of specs) {
    writeNodeFiles(spec, keys);
    capabilitiesShared = seedQemuCapabilities(spec.paths.sub('cache')) && capabilitiesShared;
  }
  return capabilitiesShared;
}

/** mclu.conf, once the accelerator (its domain_type) is decided. */
function writeMcluConf(
  name: string,
  dir: string,
  nodes: ClusterNode[],
  wolAddress: string,
  accel: AccelChoice,
): void {
  const files = clusterFiles(dir);
  writeFileSync(
    files.mcluConfig,
    mcluConf({
      clusterName: name,
      templatesDir,
      sshConfig: files.sshConfig,
      poweroffCommand: 'sh /etc/libvirt/tsvirt-poweroff',
      wolAddress,
      accel,
      nodes: nodes.map((n) => ({
        name: n.name,
        sshDestination: n.sshDestination,
        macAddress: n.macAddress,
      })),
    }),
  );
}

function readState(file: string): ClusterState {
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
}

function writeState(file: string, state: ClusterState): void {
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
}

/** The cluster of that name as recorded by the process that started it, or null when there
 *  is none. Its nodes' pids tell whether the daemons still run (see clusterHealth). */
export function openCluster(name = DEFAULTS.name): Cluster | null {
  const dir = clusterDir(name);
  const file = clusterFiles(dir).state;
  if (!existsSync(file)) return null;
  const state = readState(file);
  return new RunningCluster(
    state.name,
    dir,
    state.nodes,
    state.wolAddress,
    state.accel ?? UNDECIDED,
  );
}

/** Per node: whether each of its processes is alive. */
export function clusterHealth(
  cluster: Cluster,
): { node: ClusterNode; holder: boolean; libvirtd: boolean; sshd: boolean }[] {
  return cluster.nodes.map((node) => ({
    node,
    holder: node.holderPid > 0 && isAlive(node.holderPid),
    libvirtd: node.libvirtdPid > 0 && isAlive(node.libvirtdPid),
    sshd: node.sshdPid > 0 && isAlive(node.sshdPid),
  }));
}

/** Stops a cluster by name: its guests, daemons and namespaces, then removes its directory.
 *  Does nothing when there is no such cluster; works after a crash (kill -9). */
export async function stopCluster(name: string = DEFAULTS.name): Promise<void> {
  checkRoot();
  const dir = clusterDir(name);
  if (!dir.startsWith(`${STATE_ROOT}/`) || name === 'cache')
    throw new ClusterError('BAD_OPTION', `bad cluster name "${name}"`);
  await stopProcessesUsing(dir);
  const left = findProcessesUsing(dir);
  if (left.length > 0) {
    throw new ClusterError(
      'COMMAND_FAILED',
      `processes of cluster ${name} did not stop: ${left.map((p) => `${p.pid} (${p.comm})`).join(', ')}; kill them and run testcluster down --name ${name} again`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The name of another recorded cluster with a node at this address, if any. */
function clusterUsing(address: string): string | null {
  for (const name of listClusters()) {
    if (openCluster(name)?.nodes.some((n) => n.address === address)) return name;
  }
  return null;
}

/** Names of the clusters that have a directory on this machine. */
export function listClusters(): string[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT).filter(
    (n) => n !== 'cache' && existsSync(join(STATE_ROOT, n, 'state.json')),
  );
}
