// One command's view of the cluster: a libvirt connection to every node it needs, opened in
// parallel, each within a bounded time. A node that cannot be reached is kept with the
// reason and otherwise ignored, so one dead node never blocks or fails the others.
import type { McluConfig, NodeConfig } from './config.js';
import { messageOf, NodeError } from './errors.js';
import type { NodeApi } from './node-api.js';

export interface ConnectSettings {
  connectTimeoutMs: number;
  /** Path for `ssh -F`, or null for ssh's own configuration. */
  sshConfig: string | null;
}

/** Opens a libvirt connection to one node. The default is over @tsvirt/libvirt. */
export type Connector = (node: NodeConfig, settings: ConnectSettings) => Promise<NodeApi>;

export type NodeSession =
  | { node: NodeConfig; state: 'on'; api: NodeApi }
  | { node: NodeConfig; state: 'off'; error: string };

export type OnlineSession = Extract<NodeSession, { state: 'on' }>;

export class Cluster {
  readonly config: McluConfig;
  readonly sessions: readonly NodeSession[];

  private constructor(config: McluConfig, sessions: NodeSession[]) {
    this.config = config;
    this.sessions = sessions;
  }

  /** Connects to the nodes named (default: all), in parallel. Never throws for a node
   *  that cannot be reached; throws NodeError for a name that is not configured. */
  static async open(
    config: McluConfig,
    connector: Connector,
    nodeNames?: readonly string[],
  ): Promise<Cluster> {
    const nodes =
      nodeNames === undefined || nodeNames.length === 0
        ? config.nodes
        : nodeNames.map((n) => configuredNode(config, n));
    const settings: ConnectSettings = {
      connectTimeoutMs: config.defaults.connectTimeoutMs,
      sshConfig: config.defaults.sshConfig,
    };
    const sessions = await Promise.all(nodes.map((node) => connectNode(node, connector, settings)));
    return new Cluster(config, sessions);
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
  settings: ConnectSettings,
): Promise<NodeSession> {
  // The connector has its own timeout; this one is the backstop so that no transport,
  // however it misbehaves, can hold the command beyond the bound.
  let timer: NodeJS.Timeout | undefined;
  const attempt = connector(node, settings);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${settings.connectTimeoutMs / 1000} s`)),
      settings.connectTimeoutMs + 2000,
    );
  });
  try {
    const api = await Promise.race([attempt, timeout]);
    return { node, state: 'on', api };
  } catch (error) {
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
  }
}
