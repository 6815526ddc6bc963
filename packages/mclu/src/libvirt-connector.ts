// The real Connector: @tsvirt/libvirt over the node's URI (qemu+ssh by default), with the
// configured ssh_config passed to `ssh -F`. One connection per node per command.
import { connect } from '@tsvirt/libvirt';
import type { Connector } from './cluster.js';
import type { NodeApi } from './node-api.js';

export const libvirtConnector: Connector = async (node, settings) => {
  const connection: NodeApi = await connect(node.uri, {
    connectTimeoutMs: settings.connectTimeoutMs,
    // A node that hangs after answering (a stopped libvirtd, a frozen host) must not hold
    // the command forever: with nothing from it for about the connect timeout, its
    // connection is dropped and its pending calls fail, so it is reported like an
    // unreachable one. Long calls (a migration) are fine: the daemon answers pings meanwhile.
    keepalive: {
      intervalMs: 1000,
      count: Math.max(2, Math.ceil(settings.connectTimeoutMs / 1000)),
    },
    ...(settings.sshConfig === null ? {} : { ssh: { configFile: settings.sshConfig } }),
  });
  return connection;
};
