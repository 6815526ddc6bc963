// Commands on a node over the system's ssh client, with the same options the libvirt
// connections use (ssh_config, BatchMode), for what libvirt cannot do: powering off.
import { execFile } from 'node:child_process';
import type { Defaults, NodeConfig } from './config.js';
import { NodeError } from './errors.js';

export function sshArgs(defaults: Defaults, node: NodeConfig, command: string): string[] {
  return [
    ...(defaults.sshConfig === null ? [] : ['-F', defaults.sshConfig]),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.ceil(defaults.connectTimeoutMs / 1000))}`,
    '--',
    node.host,
    command,
  ];
}

/** Runs one command on the node; resolves with its output, rejects with ssh's message. */
export function runOverSsh(defaults: Defaults, node: NodeConfig, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ssh',
      sshArgs(defaults, node, command),
      { timeout: defaults.connectTimeoutMs + 30_000 },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        const reason = stderr.trim().split('\n').pop() || error.message;
        reject(
          new NodeError(
            'NODE_COMMAND',
            node.name,
            `${node.name}: \`${command}\` over ssh failed: ${reason}`,
          ),
        );
      },
    );
  });
}
