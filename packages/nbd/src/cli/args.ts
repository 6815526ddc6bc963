// nbdkit's command line: options anywhere, then PLUGIN, then key=value parameters (a bare
// value goes to the plugin's magic key). Hand-parsed because the grammar is nbdkit's own.
import { ConfigError } from '../errors.js';

export interface CommandLine {
  unixSocket?: string; // '-' for a private socket
  port?: number;
  ipaddr?: string;
  single: boolean;
  readonly: boolean;
  exportName: string;
  filters: string[];
  plugin?: string;
  params: { key: string | undefined; value: string }[];
  run?: string;
  foreground: boolean;
  verbose: boolean;
  pidFile?: string;
  tls: 'off' | 'on' | 'require';
  tlsCertificates?: string;
  tlsPsk?: string;
  tlsVerifyPeer: boolean;
  requestTimeout: number;
  /** -t: requests served at once on each connection (nbdkit's threads per connection). */
  threads?: number;
  /** --workers: processes serving connections, at most (tsnbd's own option). */
  workers?: number;
  /** --busy-poll: longest busy poll for a connection's next request, µs (tsnbd's own). */
  busyPoll?: number;
  /** -u / -g: the user and group to become once listening. */
  user?: string;
  group?: string;
  exitWithParent: boolean;
  /** --no-sr: refuse structured replies (and so extended headers and block status). */
  noStructuredReplies: boolean;
  /** --no-mc: do not advertise multi-conn. */
  noMultiConn: boolean;
  help: boolean;
  version: boolean;
  debug: boolean;
}

/** A whole number from `min` to `max`, given to `option`. */
function count(option: string, value: string, max: number, min = 1): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${option}=${value}: expected a number from ${min} to ${max}`);
  }
  return n;
}

const WITH_VALUE = new Set([
  '-U',
  '--unix',
  '-p',
  '--port',
  '-i',
  '--ipaddr',
  '-e',
  '--exportname',
  '--export-name',
  '--filter',
  '--run',
  '-P',
  '--pidfile',
  '--tls',
  '--tls-certificates',
  '--tls-psk',
  '--request-timeout',
  '-t',
  '--threads',
  '--workers',
  '--busy-poll',
  '-D',
  '-u',
  '--user',
  '-g',
  '--group',
  '--log',
  '--mask-handshake',
  '--selinux-label',
]);
/** nbdkit options that tsnbd does not implement: refused with a message, never ignored. */
const UNSUPPORTED: Record<string, string> = {
  '-D': 'tsnbd plugins and filters have no debug flags (use -v)',
  '-o': 'tsnbd speaks only the fixed newstyle protocol',
  '--oldstyle': 'tsnbd speaks only the fixed newstyle protocol',
  '--old-style': 'tsnbd speaks only the fixed newstyle protocol',
  '-4': 'not supported: give the address with -i',
  '--ipv4-only': 'not supported: give the address with -i',
  '-6': 'not supported: give the address with -i',
  '--ipv6-only': 'not supported: give the address with -i',
  '--log': 'not supported: errors go to stderr (-v for more)',
  '--mask-handshake': 'not supported',
  '--selinux-label': 'not supported',
  '--swap': 'not supported',
  '--vsock': 'not supported (no AF_VSOCK in Node.js)',
  '--dump-config': 'not supported (see tsnbd --version)',
  '--dump-plugin': 'not supported (see tsnbd --help)',
  '--long-options': 'not supported (see tsnbd --help)',
  '--short-options': 'not supported (see tsnbd --help)',
};

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const cl: CommandLine = {
    single: false,
    readonly: false,
    exportName: '',
    filters: [],
    params: [],
    foreground: false,
    verbose: false,
    tls: 'off',
    tlsVerifyPeer: false,
    requestTimeout: 0,
    exitWithParent: false,
    noStructuredReplies: false,
    noMultiConn: false,
    help: false,
    version: false,
    debug: false,
  };
  let onlyParams = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!onlyParams && arg === '--') {
      onlyParams = true;
      continue;
    }
    if (onlyParams || !arg.startsWith('-') || arg === '-') {
      if (cl.plugin === undefined) cl.plugin = arg;
      else {
        const eq = arg.indexOf('=');
        // nbdkit: a key is a word before '='; anything else is the magic key's value.
        if (eq > 0 && /^[A-Za-z0-9_.-]+$/.test(arg.slice(0, eq))) {
          cl.params.push({ key: arg.slice(0, eq), value: arg.slice(eq + 1) });
        } else cl.params.push({ key: undefined, value: arg });
      }
      continue;
    }
    let name = arg;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
    } else if (/^-[A-Za-z]./.test(arg) && WITH_VALUE.has(arg.slice(0, 2))) {
      name = arg.slice(0, 2);
      value = arg.slice(2);
    }
    if (WITH_VALUE.has(name) && value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(`${name} needs a value`);
    }
    const unsupported = UNSUPPORTED[name];
    if (unsupported) throw new ConfigError(`${name}: ${unsupported}`);
    switch (name) {
      case '-U':
      case '--unix':
        cl.unixSocket = value!;
        break;
      case '-p':
      case '--port': {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new ConfigError(`--port=${value}: not a port number`);
        }
        cl.port = port;
        break;
      }
      case '-i':
      case '--ipaddr':
        cl.ipaddr = value!;
        break;
      case '-s':
      case '--single':
        cl.single = true;
        break;
      case '-r':
      case '--readonly':
      case '--read-only':
        cl.readonly = true;
        break;
      case '-e':
      case '--exportname':
      case '--export-name':
        cl.exportName = value!;
        break;
      case '--filter':
        cl.filters.push(value!);
        break;
      case '--run':
        cl.run = value!;
        break;
      case '-f':
      case '--foreground':
      case '--no-fork':
        cl.foreground = true;
        break;
      case '-v':
      case '--verbose':
        cl.verbose = true;
        break;
      case '-P':
      case '--pidfile':
        cl.pidFile = value!;
        break;
      case '--tls':
        if (value !== 'off' && value !== 'on' && value !== 'require') {
          throw new ConfigError(`--tls=${value}: expected off, on or require`);
        }
        cl.tls = value;
        break;
      case '--tls-certificates':
        cl.tlsCertificates = value!;
        break;
      case '--tls-psk':
        cl.tlsPsk = value!;
        break;
      case '--tls-verify-peer':
        cl.tlsVerifyPeer = true;
        break;
      case '--request-timeout': {
        const seconds = Number(value);
        if (!(seconds >= 0)) throw new ConfigError(`--request-timeout=${value}: expected seconds`);
        cl.requestTimeout = seconds;
        break;
      }
      case '-t':
      case '--threads':
        cl.threads = count('--threads', value!, 1024);
        break;
      case '--workers':
        cl.workers = count('--workers', value!, 256);
        break;
      case '--busy-poll':
        cl.busyPoll = count('--busy-poll', value!, 1000, 0);
        break;
      case '-u':
      case '--user':
        cl.user = value!;
        break;
      case '-g':
      case '--group':
        cl.group = value!;
        break;
      case '--exit-with-parent':
        cl.exitWithParent = true;
        break;
      case '--no-sr':
        cl.noStructuredReplies = true;
        break;
      case '--no-mc':
        cl.noMultiConn = true;
        break;
      case '-n':
      case '--newstyle':
      case '--new-style':
        break; // the only protocol tsnbd speaks, as nbdkit's default
      case '-h':
      case '--help':
        cl.help = true;
        break;
      case '-V':
      case '--version':
        cl.version = true;
        break;
      case '--debug':
        // nbdkit's --debug=FLAG is -D; tsnbd's --debug (no value) shows stack traces.
        if (value !== undefined) throw new ConfigError(`--debug=${value}: ${UNSUPPORTED['-D']}`);
        cl.debug = true;
        break;
      default:
        throw new ConfigError(`unknown option ${arg} (see tsnbd --help)`);
    }
  }
  return cl;
}
