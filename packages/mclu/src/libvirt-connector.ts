// The real Connector: @tsvirt/libvirt over the node's URI (qemu+ssh by default), with the
// ssh options every mclu ssh gets (ssh_config, connection sharing). One libvirt connection
// per node per command; with connection sharing, one ssh master per node across commands.
import { connect } from '@tsvirt/libvirt';
import type { Connector } from './cluster.js';
import type { NodeApi } from './node-api.js';
import { connectionSharingOptions } from './ssh.js';

export const libvirtConnector: Connector = async (node, defaults) => {
  const connection: NodeApi = await connect(node.uri, {
    connectTimeoutMs: defaults.connectTimeoutMs,
    // A node that hangs after answering (a stopped libvirtd, a frozen host) must not hold
    // the command forever: with nothing from it for about the connect timeout, its
    // connection is dropped and its pending calls fail, so it is reported like an
    // unreachable one. Long calls (a migration) are fine: the daemon answers pings meanwhile.
    keepalive: {
      intervalMs: 1000,
      count: Math.max(2, Math.ceil(defaults.connectTimeoutMs / 1000)),
    },
    ssh: {
      ...(defaults.sshConfig === null ? {} : { configFile: defaults.sshConfig }),
      extraArgs: connectionSharingOptions(defaults),
    },
  });
  return connection;
};
