// `on` and `off` for nodes.
import type { Cluster } from './cluster.js';
import { NodeError } from './errors.js';
import { runOverSsh } from './ssh.js';
import { nodeGuests, isActive } from './status.js';

/** Powers a node off over ssh (the configured poweroff_command). Refuses while guests
 *  run unless `force`. */
export async function powerOffNode(
  cluster: Cluster,
  nodeName: string,
  force: boolean,
): Promise<{ node: string; runningGuests: string[] }> {
  const session = cluster.session(nodeName);
  const running = (await nodeGuests(session)).filter((g) => isActive(g.state)).map((g) => g.name);
  if (running.length > 0 && !force) {
    throw new NodeError(
      'NODE_BUSY',
      nodeName,
      `node ${nodeName} runs ${running.length} guest(s) (${running.join(', ')}); migrate or stop them first, or use --force`,
    );
  }
  await runOverSsh(cluster.config.defaults, session.node, cluster.config.defaults.poweroffCommand);
  return { node: nodeName, runningGuests: running };
}
