// The real Connector: @tsvirt/libvirt over the node's URI (qemu+ssh by default), with the
// configured ssh_config passed to `ssh -F`. One connection per node per command, so no
// keepalive: a command is short, and a lost connection fails its own call anyway.
import { connect } from '@tsvirt/libvirt';
import type { Connector } from './cluster.js';
import type { NodeApi } from './node-api.js';

export const libvirtConnector: Connector = async (node, settings) => {
  const connection: NodeApi = await connect(node.uri, {
    connectTimeoutMs: settings.connectTimeoutMs,
    keepalive: false,
    ...(settings.sshConfig === null ? {} : { ssh: { configFile: settings.sshConfig } }),
  });
  return connection;
};
