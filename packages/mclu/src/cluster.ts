// One command's view of the cluster: a libvirt connection to every node it needs, opened in
// parallel, each within a bounded time. A node that cannot be reached is kept with the
// reason and otherwise ignored, so one dead node never blocks or fails the others.
import type { Defaults, McluConfig, NodeConfig } from './config.js';
import { McluError, messageOf, NodeError } from './errors.js';
import type { NodeApi } from './node-api.js';

/** Opens a libvirt connection to one node (connect_timeout, ssh options from `defaults`).
 *  The default is over @tsvirt/libvirt. Throws McluError for a local problem (which fails
 *  the command), anything else for a node that cannot be reached. */
export type Connector = (node: NodeConfig, defaults: Defaults) => Promise<NodeApi>;

export type NodeSession =
  | { node: NodeConfig; state: 'on'; api: NodeApi }
  | { node: NodeConfig; state: 'off'; error: string };

export type OnlineSession = Extract<NodeSession, { state: 'on' }>;

export class Cluster {
  readonly config: McluConfig;
  #sessions: NodeSession[];
  readonly #connector: Connector;

  private constructor(config: McluConfig, sessions: NodeSession[], connector: Connector) {
    this.config = config;
    this.#sessions = sessions;
    this.#connector = connector;
  }

  get sessions(): readonly NodeSession[] {
    return this.#sessions;
  }

  /** Connects to the nodes named (default: all), in parallel. Never throws for a node
   *  that cannot be reached; throws NodeError for a name that is not configured. With a
   *  signal, an abort ends the wait at once (connections that arrive later are closed). */
  static async open(
    config: McluConfig,
    connector: Connector,
    nodeNames?: readonly string[],
    signal?: AbortSignal,
  ): Promise<Cluster> {
    const nodes =
      nodeNames === undefined || nodeNames.length === 0
        ? config.nodes
        : nodeNames.map((n) => configuredNode(config, n));
    const settled = await Promise.allSettled(
      nodes.map((node) => connectNode(node, connector, config.defaults, signal)),
    );
    const sessions = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const cluster = new Cluster(config, sessions, connector);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined || signal?.aborted) {
      await cluster.close();
      if (failed !== undefined) throw failed.reason;
      signal?.throwIfAborted();
    }
    return cluster;
  }

  /** A new connection to a node whose connection was lost (to undo what was done there);
   *  returns the new session, or null when the node still cannot be reached. */
  async reconnect(nodeName: string): Promise<OnlineSession | null> {
    const index = this.#sessions.findIndex((s) => s.node.name === nodeName);
    const old = this.#sessions[index];
    if (old === undefined) return null;
    if (old.state === 'on') await old.api.close().catch(() => undefined);
    const session = await connectNode(old.node, this.#connector, this.config.defaults);
    this.#sessions[index] = session;
    return session.state === 'on' ? session : null;
  }

  online(): OnlineSession[] {
    return this.sessions.filter((s): s is OnlineSession => s.state === 'on');
  }

  offline(): Extract<NodeSession, { state: 'off' }>[] {
    return this.sessions.filter(
      (s): s is Extract<NodeSession, { state: 'off' }> => s.state === 'off',
    );
  }

  /** The connection to one node; a clear error if it is unknown or unreachable. */
  session(nodeName: string): OnlineSession {
    const session = this.sessions.find((s) => s.node.name === nodeName);
    if (session === undefined) throw unknownNode(this.config, nodeName);
    if (session.state === 'off') {
      throw new NodeError(
        'NODE_OFF',
        nodeName,
        `node ${nodeName} is off or unreachable: ${session.error}`,
      );
    }
    return session;
  }

  async close(): Promise<void> {
    await Promise.all(this.online().map((s) => s.api.close().catch(() => undefined)));
  }
}

export function configuredNode(config: McluConfig, name: string): NodeConfig {
  const node = config.nodes.find((n) => n.name === name);
  if (node === undefined) throw unknownNode(config, name);
  return node;
}

function unknownNode(config: McluConfig, name: string): NodeError {
  return new NodeError(
    'UNKNOWN_NODE',
    name,
    `unknown node ${JSON.stringify(name)}; the nodes in ${config.file} are: ${config.nodes.map((n) => n.name).join(', ')}`,
  );
}

async function connectNode(
  node: NodeConfig,
  connector: Connector,
  defaults: Defaults,
  signal?: AbortSignal,
): Promise<NodeSession> {
  // The connector has its own timeout; this one is the backstop so that no transport,
  // however it misbehaves, can hold the command beyond the bound.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const attempt = connector(node, defaults);
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${defaults.connectTimeoutMs / 1000} s`)),
      defaults.connectTimeoutMs + 2000,
    );
    onAbort = () => reject(new Error('interrupted'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort);
  });
  try {
    const api = await Promise.race([attempt, stop]);
    return { node, state: 'on', api };
  } catch (error) {
    if (error instanceof McluError) throw error;
    // A connection that arrives after we gave up is closed, never leaked.
    attempt
      .then(
        (api) => api.close(),
        () => undefined,
      )
      .catch(() => undefined);
    return { node, state: 'off', error: messageOf(error) };
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
