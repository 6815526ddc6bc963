#!/usr/bin/env node
// tsnbd: serve a plugin (with filters) over NBD, with nbdkit's command line.
import { packageVersion } from '@tsvirt/cli-kit';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocketOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ConfigError, messageOf } from '../errors.js';
import { builtinFilters } from '../filters/index.js';
import { loadFilter, loadPlugin } from '../loader.js';
import { builtinPlugins } from '../plugins/index.js';
import { NbdServer, type ListenAddress } from '../server/server.js';
import { Stack } from '../server/stack.js';
import { certificateOptions, pskOptions, readPskFile } from '../server/tls.js';
import { inheritSharedResources } from '../shared.js';
import { parseCommandLine, type CommandLine } from './args.js';
import { copyMain } from './copy.js';
import {
  WorkerPool,
  serveForParent,
  workerDescription,
  type WorkerDescription,
} from './workers.js';

const VERSION = packageVersion(import.meta.url);

function usage(): string {
  const lines = [
    'Usage: tsnbd [-U SOCKET|-U -|-p PORT|-s] [-i ADDR] [-r] [-e EXPORT] [--filter=NAME]...',
    '             PLUGIN [key=value]... [--run CMD]',
    '       tsnbd copy [-C N] [-R N] [--progress] SRC DST   (see tsnbd copy --help)',
    '',
    'Serves PLUGIN over NBD. PLUGIN is a built-in name or the path of a .js plugin module;',
    'a bare value after it is the plugin\'s main parameter (e.g. "memory 1G").',
    '',
    '  -U SOCKET, --unix=SOCKET   listen on a unix socket (-U - : a private one)',
    '  -p PORT, --port=PORT       listen on TCP PORT (default 10809)',
    '  -i ADDR, --ipaddr=ADDR     listen on this address only',
    '  -s, --single               serve one client on stdin/stdout',
    '  -r, --readonly             read-only export',
    '  -e NAME, --exportname=NAME export name used in $uri',
    '  --filter=NAME              add a filter (first given is outermost); repeatable',
    '  --run CMD                  captive mode: run CMD with $uri $nbd $port $unixsocket',
    '                             $exportname set, exit when it exits',
    '  -f, --foreground           do not fork into the background',
    '  -v, --verbose              log connections and errors to stderr',
    '  -P FILE, --pidfile=FILE    write the server pid to FILE once listening',
    '  --tls=off|on|require       STARTTLS policy',
    '  --tls-certificates=DIR     ca-cert.pem, server-cert.pem, server-key.pem',
    '  --tls-psk=FILE             psktool key file (identity:hexkey)',
    '  --tls-verify-peer          require client certificates',
    '  --request-timeout=SECONDS  fail requests the plugin has not answered (EIO)',
    '  -u USER, -g GROUP          become USER and GROUP once listening',
    '  --exit-with-parent         exit when the parent process does (implies -f)',
    '  -t N, --threads=N          serve at most N requests of a connection at once (64)',
    '  --workers=N                serve connections on up to N processes (default: one',
    "                             per core); tsnbd's own option, not nbdkit's. Stacks",
    '                             whose layers must stay in one process get one',
    "  --busy-poll=MICROSECONDS   poll up to this long for a connection's next request",
    '                             instead of sleeping, adapted to the client (128; 0: off)',
    '  --no-sr, --no-mc           refuse structured replies; do not advertise multi-conn',
    '  -n, --newstyle             accepted (the only protocol tsnbd speaks)',
    '  --debug                    stack traces on errors',
    '  --help, --version',
    '',
    'Socket activation: with LISTEN_PID/LISTEN_FDS set, serves on the inherited sockets.',
    '',
    'Plugins:',
  ];
  for (const [name, make] of Object.entries(builtinPlugins)) {
    const p = make();
    lines.push(`  ${name.padEnd(14)} ${p.description ?? ''}`);
    for (const k of p.keys ?? []) lines.push(`      ${k.key.padEnd(22)} ${k.help}`);
  }
  lines.push('', 'Filters:');
  for (const [name, make] of Object.entries(builtinFilters)) {
    const f = make();
    lines.push(`  ${name.padEnd(14)} ${f.description ?? ''}`);
    for (const k of f.keys ?? []) lines.push(`      ${k.key.padEnd(22)} ${k.help}`);
  }
  return lines.join('\n');
}

function activationFds(): number[] | undefined {
  const pid = process.env.LISTEN_PID;
  const count = Number(process.env.LISTEN_FDS);
  if (pid === undefined || Number(pid) !== process.pid || !(count > 0)) return undefined;
  return Array.from({ length: count }, (_, i) => 3 + i);
}

function buildUri(cl: CommandLine, socket: string | undefined, port: number | undefined): string {
  const scheme = cl.tls === 'require' ? 'nbds' : 'nbd';
  const exportPath = encodeURIComponent(cl.exportName);
  if (socket) return `${scheme}+unix:///${exportPath}?socket=${encodeURIComponent(socket)}`;
  return `${scheme}://localhost:${port ?? 10809}/${exportPath}`;
}

/** Re-runs this command in the background and returns once it is listening. */
async function daemonize(): Promise<never> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [...process.execArgv, script, ...process.argv.slice(2), '-f'],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
      env: { ...process.env, TSNBD_READY_FD: '3' },
    },
  );
  const ready = child.stdio[3]!;
  const code = await new Promise<number>((resolve) => {
    ready.once('data', () => resolve(0));
    child.once('exit', (c) => resolve(c ?? 1));
  });
  ready.destroy();
  child.unref();
  process.exit(code);
}

/** Loads the plugin and filters and configures them from the command line. */
async function configureStack(plugin: string, cl: CommandLine): Promise<Stack> {
  const loaded = await loadPlugin(plugin);
  const filters = [];
  for (const f of cl.filters) filters.push(await loadFilter(f));
  const stack = new Stack(loaded, filters);
  await stack.load();
  for (const { key, value } of cl.params) {
    const k = key ?? stack.plugin.magicConfigKey;
    if (!k) {
      throw new ConfigError(
        `plugin ${stack.plugin.name} takes key=value parameters, not "${value}"`,
      );
    }
    await stack.config(k, value);
  }
  await stack.configComplete();
  return stack;
}

function tlsOptionsOf(cl: CommandLine): TLSSocketOptions | undefined {
  if (cl.tls === 'off') return undefined;
  if (cl.tlsPsk) return pskOptions(readPskFile(cl.tlsPsk));
  if (cl.tlsCertificates) return certificateOptions(cl.tlsCertificates, cl.tlsVerifyPeer);
  throw new ConfigError(`--tls=${cl.tls} needs --tls-certificates=DIR or --tls-psk=FILE`);
}

function serverOf(
  cl: CommandLine,
  stack: Stack,
  tlsOptions: TLSSocketOptions | undefined,
  log: ((message: string) => void) | undefined,
): NbdServer {
  return new NbdServer({
    stack,
    readonly: cl.readonly,
    tls: cl.tls,
    ...(tlsOptions ? { tlsOptions } : {}),
    requestTimeoutMs: cl.requestTimeout * 1000,
    handshakeTimeoutMs: 60_000,
    maxPayload: 32 << 20,
    structuredReplies: !cl.noStructuredReplies,
    multiConn: !cl.noMultiConn,
    ...(cl.threads ? { maxInFlight: cl.threads } : {}),
    ...(cl.busyPoll !== undefined ? { busyPollMicroseconds: cl.busyPoll } : {}),
    ...(log ? { log } : {}),
  });
}

/**
 * How many processes serve: --workers (default: the number of cores), or one when a layer
 * keeps its state in one process (its thread model is not 'multiProcess').
 */
function workerCount(cl: CommandLine, stack: Stack, log?: (message: string) => void): number {
  const wanted = cl.workers ?? availableParallelism();
  if (wanted > 1 && stack.threadModel !== 'multiProcess') {
    const holders = [stack.plugin, ...stack.filters]
      .filter((layer) => (layer.threadModel ?? 'parallel') !== 'multiProcess')
      .map((layer) => layer.name);
    log?.(`one worker: ${holders.join(', ')} must run in one process`);
    return 1;
  }
  return wanted;
}

/** A worker started by the accepting process (see workers.ts). */
async function runWorker(cl: CommandLine, plugin: string, worker: WorkerDescription) {
  inheritSharedResources(worker.resources);
  const log = cl.verbose
    ? (m: string) => process.stderr.write(`tsnbd: worker ${worker.index}: ${m}\n`)
    : undefined;
  const stack = await configureStack(plugin, cl);
  const tlsOptions = tlsOptionsOf(cl);
  const identity = resolveIdentity(cl);
  await stack.getReady();
  dropPrivileges(identity);
  serveForParent(serverOf(cl, stack, tlsOptions, log), () => stack.cleanup());
  return new Promise<number>(() => undefined); // serveForParent ends the process
}

async function main(): Promise<number> {
  if (process.argv[2] === 'copy') return copyMain(process.argv.slice(3));
  const cl = parseCommandLine(process.argv.slice(2));
  if (cl.help) {
    console.log(usage());
    return 0;
  }
  if (cl.version) {
    console.log(`tsnbd ${VERSION}`);
    return 0;
  }
  if (!cl.plugin) throw new ConfigError('no plugin given (try tsnbd --help)');
  const worker = workerDescription();
  if (worker) return runWorker(cl, cl.plugin, worker);
  const fds = activationFds();
  const modes = [cl.unixSocket !== undefined, cl.port !== undefined, cl.single].filter(Boolean);
  if (modes.length > 1) throw new ConfigError('give only one of -U, -p and -s');
  if (cl.single && cl.run) throw new ConfigError('-s cannot be combined with --run');

  const log = cl.verbose ? (m: string) => process.stderr.write(`tsnbd: ${m}\n`) : undefined;
  const stack = await configureStack(cl.plugin, cl);
  const tlsOptions = tlsOptionsOf(cl);
  const identity = resolveIdentity(cl);
  const background =
    !cl.foreground &&
    !cl.single &&
    !cl.run &&
    !cl.exitWithParent && // implies the foreground, as in nbdkit
    !fds &&
    !process.env.TSNBD_READY_FD;
  if (background) return daemonize();

  await stack.getReady();
  const server = serverOf(cl, stack, tlsOptions, log);

  if (cl.single) {
    dropPrivileges(identity);
    if (cl.exitWithParent) watchParent(() => process.exit(0));
    await server.serveStreams(process.stdin, process.stdout);
    await stack.cleanup();
    return 0;
  }

  let privateDir: string | undefined;
  let socketPath = cl.unixSocket;
  if (socketPath === '-') {
    privateDir = mkdtempSync(join(tmpdir(), 'tsnbd-'));
    socketPath = join(privateDir, 'socket');
  }
  const address: ListenAddress = fds
    ? { kind: 'fds', fds }
    : socketPath !== undefined
      ? { kind: 'unix', path: socketPath }
      : { kind: 'tcp', port: cl.port ?? 10809, ...(cl.ipaddr ? { host: cl.ipaddr } : {}) };
  const workers = workerCount(cl, stack, log);
  let pool: WorkerPool | undefined;
  let port;
  try {
    if (workers > 1)
      pool = await WorkerPool.start(workers, fileURLToPath(import.meta.url), server, log);
    port = await server.listen(address, pool?.dispatch);
  } catch (err) {
    await pool?.close();
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    throw err;
  }
  const where = fds ? `${fds.length} inherited socket(s)` : (socketPath ?? `port ${port}`);
  log?.(`listening on ${where}, ${workers} worker(s)`);
  let finished = false;
  const shutdown = async (code: number): Promise<number> => {
    if (finished) return code;
    finished = true;
    await Promise.all([server.close(), pool?.close()]);
    await stack.cleanup();
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    if (cl.pidFile) rmSync(cl.pidFile, { force: true });
    return code;
  };
  // As nbdkit: the --run command starts before privileges are dropped, the pid file after.
  const captive = cl.run ? runCaptive(cl, cl.run, socketPath, port) : undefined;
  try {
    dropPrivileges(identity, privateDir && socketPath ? [privateDir, socketPath] : []);
  } catch (err) {
    captive?.kill();
    await shutdown(1);
    throw err;
  }
  if (cl.pidFile) writeFileSync(cl.pidFile, `${process.pid}\n`);

  return new Promise<number>((resolve) => {
    const stop = (code: number) => void shutdown(code).then(resolve);
    process.once('SIGINT', () => stop(0));
    process.once('SIGTERM', () => stop(0));
    if (cl.exitWithParent) watchParent(() => stop(0));
    if (process.env.TSNBD_READY_FD) {
      const ready = createWriteStream('', { fd: Number(process.env.TSNBD_READY_FD) });
      ready.end('ready\n');
    }
    if (captive) {
      captive.on('exit', (code, signal) =>
        stop(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
      captive.on('error', (err) => {
        process.stderr.write(`tsnbd: --run: ${err.message}\n`);
        stop(1);
      });
    }
  });
}

/** Captive mode: `sh -c CMD` with the server's address in its environment. */
function runCaptive(
  cl: CommandLine,
  command: string,
  socketPath: string | undefined,
  port: number | undefined,
): ChildProcess {
  const uri = buildUri(cl, socketPath, port);
  return spawn('/bin/sh', ['-c', command], {
    stdio: 'inherit',
    env: {
      ...process.env,
      uri,
      nbd: uri,
      port: socketPath ? '' : String(port ?? ''),
      unixsocket: socketPath ?? '',
      exportname: cl.exportName,
      tls: cl.tls === 'off' ? '' : cl.tls,
    },
  });
}

interface Identity {
  uid?: number;
  gid?: number;
}

/**
 * -u and -g, by name or number, as numbers (checked before anything is bound). A name is
 * looked up by the system: the process takes it as its effective id for a moment.
 */
function resolveIdentity(cl: CommandLine): Identity {
  const { seteuid, geteuid, setegid, getegid } = process;
  if (!seteuid || !geteuid || !setegid || !getegid) {
    throw new ConfigError('-u/-g: not supported on this platform');
  }
  const resolve = (option: string, name: string, set: typeof seteuid, get: () => number) => {
    if (/^\d+$/.test(name)) return Number(name);
    const before = get();
    try {
      set(name);
      return get();
    } catch (err) {
      throw new ConfigError(`${option} ${name}: ${messageOf(err)}`);
    } finally {
      set(before);
    }
  };
  const identity: Identity = {};
  if (cl.group !== undefined) identity.gid = resolve('-g', cl.group, setegid, getegid);
  if (cl.user !== undefined) identity.uid = resolve('-u', cl.user, seteuid, geteuid);
  return identity;
}

/**
 * Becomes the group (alone: supplementary groups are dropped) and the user, once the sockets
 * are bound (as nbdkit does). `handOver` (the private socket directory and its socket)
 * changes owner first, so that it can be removed at exit.
 */
function dropPrivileges(identity: Identity, handOver: string[] = []): void {
  const { uid, gid } = identity;
  if (uid === undefined && gid === undefined) return;
  for (const path of handOver) chownSync(path, uid ?? -1, gid ?? -1);
  try {
    if (gid !== undefined) {
      process.setgid!(gid);
      process.setgroups!([gid]);
    }
    if (uid !== undefined) process.setuid!(uid);
  } catch (err) {
    throw new ConfigError(`cannot become ${uid ?? ''}:${gid ?? ''} (-u/-g): ${messageOf(err)}`);
  }
}

/** --exit-with-parent: Node has no prctl(PR_SET_PDEATHSIG), so the parent is polled. */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 500);
  timer.unref();
}

main().then(
  (code) => {
    process.exitCode = code;
    // Idle keep-alive sockets of plugins must not hold the process open after shutdown.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    const debug = process.argv.includes('--debug');
    if (err instanceof ConfigError && !debug) process.stderr.write(`tsnbd: ${err.message}\n`);
    else if (debug && err instanceof Error)
      process.stderr.write(`tsnbd: ${err.stack ?? err.message}\n`);
    else process.stderr.write(`tsnbd: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
