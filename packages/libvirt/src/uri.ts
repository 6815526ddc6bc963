import { LibvirtTransportError } from './errors.js';

export const DEFAULT_SOCKET = '/var/run/libvirt/libvirt-sock';
export const DEFAULT_SOCKET_RO = '/var/run/libvirt/libvirt-sock-ro';
export const DEFAULT_TCP_PORT = 16509;

export type ParsedUri =
  | { transport: 'unix'; socket: string; name: string }
  | { transport: 'tcp'; host: string; port: number; name: string }
  | {
      transport: 'ssh';
      host: string;
      user?: string;
      port?: number;
      keyFile?: string;
      /** The ssh program (`command=` in the URI). */
      command?: string;
      socket: string;
      helper: 'auto' | 'virt-ssh-helper' | 'netcat';
      name: string;
    };

/**
 * Split a libvirt URI (driver[+transport]://[user@][host][:port]/path[?params]) into where to
 * connect and the name to open there. The daemon sees the URI without transport, host and our
 * transport parameters, e.g. 'qemu+ssh://root@node1/system' opens 'qemu:///system'.
 */
export function parseUri(uri: string, readOnly = false): ParsedUri {
  const match = /^([a-z0-9]+)(?:\+([a-z0-9]+))?:\/\/([^/?]*)(\/[^?]*)?(?:\?(.*))?$/i.exec(uri);
  if (match === null) {
    throw new LibvirtTransportError(
      'INVALID_URI',
      `cannot parse libvirt URI '${uri}' (expected e.g. qemu:///system or qemu+ssh://root@host/system)`,
    );
  }
  const [, driver = '', explicitTransport, authority = '', path = '/', query = ''] = match;
  const params = new URLSearchParams(query);
  const name = `${driver}://${path}`;
  const { user, host, port } = parseAuthority(authority, uri);
  const transport = (explicitTransport ?? (host === '' ? 'unix' : 'tls')).toLowerCase();
  const socket = params.get('socket') ?? (readOnly ? DEFAULT_SOCKET_RO : DEFAULT_SOCKET);

  switch (transport) {
    case 'unix':
      return { transport: 'unix', socket, name };
    case 'tcp':
      if (host === '')
        throw new LibvirtTransportError('INVALID_URI', `${uri}: a tcp URI needs a host`);
      return { transport: 'tcp', host, port: port ?? DEFAULT_TCP_PORT, name };
    case 'ssh': {
      if (host === '')
        throw new LibvirtTransportError('INVALID_URI', `${uri}: an ssh URI needs a host`);
      const mode = params.get('mode');
      const helper = mode === 'netcat' ? 'netcat' : mode === 'native' ? 'virt-ssh-helper' : 'auto';
      const keyFile = params.get('keyfile');
      const command = params.get('command');
      return {
        transport: 'ssh',
        host,
        ...(user !== undefined ? { user } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(keyFile !== null ? { keyFile } : {}),
        ...(command !== null ? { command } : {}),
        socket,
        helper,
        name,
      };
    }
    default:
      throw new LibvirtTransportError(
        'INVALID_URI',
        `${uri}: transport '${transport}' is not supported (use unix, ssh or tcp; TLS is not implemented)`,
      );
  }
}

function parseAuthority(
  authority: string,
  uri: string,
): { user?: string; host: string; port?: number } {
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  if (m === null)
    throw new LibvirtTransportError('INVALID_URI', `${uri}: cannot parse host '${hostPort}'`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}
