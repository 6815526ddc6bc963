// The real Connector: @tsvirt/libvirt over the node's URI (qemu+ssh by default), with the
// configured ssh_config passed to `ssh -F`.
import * as libvirt from '@tsvirt/libvirt';
import type { Connector } from './cluster.js';
import type { NodeApi } from './node-api.js';

interface ConnectFunction {
  (
    uri: string,
    options: { connectTimeoutMs: number; keepalive: false; ssh?: { configFile: string } },
  ): Promise<NodeApi>;
}

export const libvirtConnector: Connector = async (node, settings) => {
  const connect = (libvirt as unknown as { connect?: ConnectFunction }).connect;
  if (connect === undefined) throw new Error('@tsvirt/libvirt has no connect() yet');
  return connect(node.uri, {
    connectTimeoutMs: settings.connectTimeoutMs,
    keepalive: false,
    ...(settings.sshConfig === null ? {} : { ssh: { configFile: settings.sshConfig } }),
  });
};
