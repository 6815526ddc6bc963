// Serving on several processes (--workers). The first process configures the stack, binds
// the sockets and starts the other workers: each runs tsnbd again with the same command line
// and configures its own instance of the stack, with what the plugin shares between
// processes (shared.ts) handed down: values in the environment, files as inherited
// descriptors. The first process accepts every connection and gives it to the worker
// serving the fewest, itself included (a socket handed over IPC), so that connections made
// at once spread evenly; each connection then stays with its worker.
//
// Node cannot hand an accepted socket to a worker thread, and `reusePort` (Node >= 22, TCP
// only) would leave the kernel to spread connections; processes work for every kind of
// socket on Node 20. See the README ("Workers") for the measurements behind the choice.
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import type { NbdServer } from '../server/server.js';
import { sharedResources, type SharedResources } from '../shared.js';

type ToWorker = { type: 'connection' } | { type: 'shutdown' };
type FromWorker = { type: 'ready' } | { type: 'closed' };

/** The environment variable that makes tsnbd a worker, with what it inherits. */
const WORKER_ENV = 'TSNBD_WORKER';
/** A worker's first inherited file descriptor (0-2 stdio, 3 the IPC channel). */
const FIRST_FD = 4;

export interface WorkerDescription {
  /** 2 for the first started worker (the accepting process is worker 1). */
  index: number;
  resources: SharedResources;
}

/** When this process is a worker: what its parent handed down. */
export function workerDescription(): WorkerDescription | undefined {
  const text = process.env[WORKER_ENV];
  return text ? (JSON.parse(text) as WorkerDescription) : undefined;
}

interface Worker {
  index: number;
  /** Undefined for this process. */
  child: ChildProcess | undefined;
  connections: number;
}

export class WorkerPool {
  /** This process, always first: it wins ties. */
  private readonly here: Worker = { index: 1, child: undefined, connections: 0 };
  private readonly workers: Worker[];
  private closing = false;

  private constructor(
    private readonly server: NbdServer,
    children: ChildProcess[],
    private readonly log: ((message: string) => void) | undefined,
  ) {
    this.workers = [this.here];
    children.forEach((child, i) => {
      const worker = { index: i + 2, child, connections: 0 };
      this.workers.push(worker);
      this.watch(worker, child);
    });
  }

  /**
   * Starts `count - 1` more workers running `script` with this process's command line, and
   * resolves once all of them are ready to serve. Call it once the stack is configured.
   */
  static async start(
    count: number,
    script: string,
    server: NbdServer,
    log?: (message: string) => void,
  ): Promise<WorkerPool> {
    const shared = sharedResources();
    const keys = Object.keys(shared.files);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['TSNBD_READY_FD', 'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) {
      delete env[name];
    }
    const children: ChildProcess[] = [];
    try {
      for (let index = 2; index <= count; index++) {
        const description: WorkerDescription = {
          index,
          resources: {
            values: shared.values,
            files: Object.fromEntries(keys.map((key, i) => [key, FIRST_FD + i])),
          },
        };
        const child = fork(script, process.argv.slice(2), {
          execArgv: process.execArgv,
          env: { ...env, [WORKER_ENV]: JSON.stringify(description) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...keys.map((key) => shared.files[key]!)],
        });
        children.push(child);
      }
      await Promise.all(children.map((child, i) => readiness(child, i + 2)));
    } catch (err) {
      for (const child of children) child.kill('SIGKILL');
      throw err;
    }
    return new WorkerPool(server, children, log);
  }

  /** Gives a connection (accepted paused) to the worker serving the fewest. */
  dispatch = (socket: net.Socket): void => {
    const worker = this.workers.reduce((a, b) => (b.connections < a.connections ? b : a));
    const serveHere = () => {
      this.here.connections++;
      void this.server.serveSocket(socket).finally(() => this.here.connections--);
    };
    if (!worker.child) {
      serveHere();
      return;
    }
    worker.connections++;
    worker.child.send({ type: 'connection' } satisfies ToWorker, socket, (err) => {
      if (!err) return;
      // The worker is gone: serve the connection here rather than drop it.
      worker.connections--;
      serveHere();
    });
  };

  private watch(worker: Worker, child: ChildProcess): void {
    child.on('message', (message: FromWorker) => {
      if (message.type === 'closed') worker.connections--;
    });
    child.on('exit', (code, signal) => {
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
      if (this.closing) return;
      // Not restarted: its connections are lost either way, and the others keep serving.
      process.stderr.write(
        `tsnbd: worker ${worker.index} (pid ${child.pid}) exited (${signal ?? `status ${code}`}); ` +
          `its connections were closed, ${this.workers.length} worker(s) left\n`,
      );
    });
    this.log?.(`worker ${worker.index} is pid ${child.pid}`);
  }

  /** Asks every other worker to close its connections and exit; waits for them. */
  async close(): Promise<void> {
    this.closing = true;
    const children = this.workers.flatMap((w) => (w.child ? [w.child] : []));
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        if (child.connected) child.send({ type: 'shutdown' } satisfies ToWorker);
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function readiness(child: ChildProcess, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type !== 'ready') return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve();
    };
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`worker ${index} failed to start (${signal ?? `status ${code}`})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * In a worker: serves the connections its parent hands over until told to stop (or until
 * the parent is gone), then calls `finish`.
 */
export function serveForParent(server: NbdServer, finish: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server
      .close()
      .then(finish)
      .finally(() => process.exit(0));
  };
  process.on('message', (message: ToWorker, socket: net.Socket | undefined) => {
    if (message.type === 'shutdown') stop();
    else if (message.type === 'connection' && socket) {
      void server.serveSocket(socket).finally(() => {
        if (process.connected) process.send?.({ type: 'closed' } satisfies FromWorker);
      });
    }
  });
  process.on('disconnect', stop);
  // The accepting process decides when the server stops (a terminal's ^C reaches us all).
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', stop);
  process.send?.({ type: 'ready' } satisfies FromWorker);
}
