// mclu.conf: one TOML file with [defaults] and one [nodes.NAME] table per node. Every key
// is checked here so that the rest of mclu works with typed, complete values, and a bad
// file is reported with its name, the line, the key and how to fix it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, messageOf } from './errors.js';
import { memoryProblem, parseSize, SIZE_RULE } from './size.js';
import { checkTrustedPath, readTrustedFile, UntrustedFileError } from './trust.js';

export type DomainType = 'kvm' | 'qemu';

export interface Defaults {
  memoryBytes: bigint;
  vcpus: number;
  /** Disk size for new guests; null: the template's own size. */
  sizeBytes: bigint | null;
  format: string;
  /** 'user' for user-mode networking, else the name of a libvirt network. */
  network: string;
  domainType: DomainType;
  /** Directories searched for NAME.template, before $MCLU_PATH. */
  templates: string[];
  /** Directory for guest disks on the nodes. */
  images: string;
  /** Path given to `ssh -F`; null: ssh's own configuration. */
  sshConfig: string | null;
  connectTimeoutMs: number;
  /** Command run over ssh by `mclu off`. */
  poweroffCommand: string;
  /** How long a template may take: its build, and each question (probe, base-image...). */
  templateTimeouts: { buildMs: number; questionsMs: number };
  /** OpenSSH connection sharing (ControlMaster) between mclu commands. */
  sshConnectionSharing: boolean;
  /** Where the control sockets live; null: the default (see ssh.ts). */
  sshControlDir: string | null;
  /** The user's ssh public key for the guests templates make: a .pub file, or the key
   *  itself; null: the newest ~/.ssh/id*.pub (see ssh-key.ts). */
  sshKey: { file: string } | { key: string } | null;
}

export interface NodeConfig {
  name: string;
  /** Anything ssh accepts as a destination: host, user@host, an alias of ~/.ssh/config. */
  host: string;
  /** For wake-on-LAN; null when not configured. */
  mac: string | null;
  uri: string;
  wolAddress: { host: string; port: number };
}

export interface McluConfig {
  file: string;
  defaults: Defaults;
  nodes: NodeConfig[];
}

const DEFAULTS: Defaults = {
  memoryBytes: 1n << 30n,
  vcpus: 1,
  sizeBytes: null,
  format: 'qcow2',
  network: 'default',
  domainType: 'kvm',
  templates: [],
  images: '/var/lib/libvirt/images',
  sshConfig: null,
  connectTimeoutMs: 10_000,
  poweroffCommand: 'poweroff',
  templateTimeouts: { buildMs: 30 * 60_000, questionsMs: 30_000 },
  sshConnectionSharing: true,
  sshControlDir: null,
  sshKey: null,
};

const DEFAULT_KEYS = [
  'memory',
  'vcpus',
  'size',
  'format',
  'network',
  'domain_type',
  'templates',
  'images',
  'ssh_config',
  'connect_timeout',
  'poweroff_command',
  'template_timeout',
  'ssh_connection_sharing',
  'ssh_control_dir',
  'ssh_key',
] as const;
const NODE_KEYS = ['host', 'mac', 'uri', 'wol_address'] as const;

/** Where the configuration file is looked for, in order (issue 5). */
export function configCandidates(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string[] {
  const candidates: string[] = [];
  if (env['MCLU_CONFIG']) candidates.push(resolve(cwd, env['MCLU_CONFIG']));
  candidates.push(resolve(cwd, 'mclu.conf'));
  const xdg = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  candidates.push(join(xdg, 'mclu', 'mclu.conf'));
  candidates.push('/etc/mclu/mclu.conf');
  return candidates;
}

/** Reads the configuration: the file given (-f), else the first candidate that exists. */
export function loadConfig(
  explicitFile?: string,
  env: NodeJS.ProcessEnv = process.env,
): McluConfig {
  let file: string;
  if (explicitFile !== undefined) {
    file = resolve(explicitFile);
  } else {
    const candidates = configCandidates(env);
    const found = candidates.find((c) => existsSync(c));
    if (found === undefined) {
      throw new ConfigError(
        candidates[0] ?? 'mclu.conf',
        `no configuration file found (looked for ${candidates.join(', ')}); ` +
          'create one (see the README for an example) or give one with -f FILE',
      );
    }
    file = found;
  }
  let text: string;
  try {
    text = readTrustedFile(file);
  } catch (error) {
    if (error instanceof UntrustedFileError)
      throw new ConfigError(file, `refusing this configuration file: ${error.reason}`);
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const reason = missing
      ? 'no such configuration file; check the path given with -f or $MCLU_CONFIG'
      : `cannot read the configuration file: ${messageOf(error)}`;
    throw new ConfigError(file, reason, { cause: error });
  }
  const config = parseConfig(text, file);
  checkSshConfig(config);
  return config;
}

/** The ssh_config the configuration names is read by ssh later, with the same power (a
 *  ProxyCommand runs): it must exist and be trusted like the configuration itself. */
function checkSshConfig(config: McluConfig): void {
  const sshConfig = config.defaults.sshConfig;
  if (sshConfig === null) return;
  try {
    checkTrustedPath(sshConfig);
  } catch (error) {
    const reason =
      error instanceof UntrustedFileError
        ? `refusing the ssh_config ${sshConfig}: ${error.reason}`
        : (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? `ssh_config ${sshConfig}: no such file; fix the path or remove the key`
          : `ssh_config ${sshConfig}: ${messageOf(error)}`;
    throw new ConfigError(config.file, reason, { cause: error });
  }
}

/** Parses and checks the text of a configuration file; `file` is used in messages and to
 *  resolve relative paths. */
export function parseConfig(text: string, file: string): McluConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason =
        error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
      throw new ConfigError(
        file,
        `line ${error.line}, column ${error.column}: TOML syntax error: ${reason}\n${error.codeblock}\n` +
          'fix: write keys as key = value, strings in quotes, tables as [defaults] or [nodes.NAME]',
        { cause: error },
      );
    }
    throw error;
  }
  const checker = new Checker(text, file);
  checker.onlyKeys(
    '',
    doc,
    ['defaults', 'nodes'],
    'the top level holds only [defaults] and [nodes.NAME] tables',
  );
  const defaults = checker.defaults(doc['defaults']);
  const nodesTable = doc['nodes'];
  if (nodesTable === undefined) {
    throw new ConfigError(
      file,
      'no nodes configured; add a table per node, e.g.\n[nodes.ham0]\nhost = "root@ham0"\nmac = "74:d4:35:51:ab:86"',
    );
  }
  const nodes = Object.entries(checker.table('nodes', nodesTable)).map(([name, value]) =>
    checker.node(name, value),
  );
  if (nodes.length === 0)
    checker.fail(
      'nodes',
      null,
      'no node in it; add a table per node, e.g.\n[nodes.ham0]\nhost = "root@ham0"',
    );
  return { file, defaults, nodes };
}

/** Checks values, and builds messages that point at the line of the offending key. */
class Checker {
  readonly #text: string;
  readonly #file: string;
  readonly #dir: string;

  constructor(text: string, file: string) {
    this.#text = text;
    this.#file = file;
    this.#dir = dirname(file);
  }

  fail(table: string, key: string | null, message: string): never {
    const path = key === null ? table : table ? `${table}.${key}` : key;
    const line = findLine(this.#text, table, key);
    throw new ConfigError(this.#file, `${line ? `line ${line}: ` : ''}${path}: ${message}`);
  }

  table(path: string, value: unknown): Record<string, unknown> {
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      value instanceof Date
    ) {
      this.fail(path, null, `must be a table; write it as [${path}]`);
    }
    return value as Record<string, unknown>;
  }

  onlyKeys(
    path: string,
    table: Record<string, unknown>,
    known: readonly string[],
    hint: string,
  ): void {
    for (const key of Object.keys(table)) {
      if (!known.includes(key))
        this.fail(path, key, `unknown key; ${hint} (known: ${known.join(', ')})`);
    }
  }

  string(path: string, key: string, value: unknown): string {
    if (typeof value !== 'string' || value === '')
      this.fail(path, key, `must be a non-empty string in quotes, e.g. ${key} = "..."`);
    return value;
  }

  size(path: string, key: string, value: unknown): bigint {
    const bytes =
      typeof value === 'number' && Number.isInteger(value) && value > 0
        ? BigInt(value)
        : typeof value === 'string'
          ? parseSize(value)
          : null;
    if (bytes === null) this.fail(path, key, `must be ${SIZE_RULE} (got ${JSON.stringify(value)})`);
    return bytes;
  }

  seconds(path: string, key: string, value: unknown, example: string): number {
    if (typeof value !== 'number' || !(value > 0) || value > 7 * 24 * 3600)
      this.fail(path, key, `must be a number of seconds greater than 0, e.g. ${example}`);
    return Math.round(value * 1000);
  }

  boolean(path: string, key: string, value: unknown): boolean {
    if (typeof value !== 'boolean')
      this.fail(path, key, `must be true or false, without quotes (got ${JSON.stringify(value)})`);
    return value;
  }

  path(path: string, key: string, value: unknown): string {
    return resolve(this.#dir, this.string(path, key, value));
  }

  defaults(value: unknown): Defaults {
    if (value === undefined) return { ...DEFAULTS };
    const t = this.table('defaults', value);
    this.onlyKeys('defaults', t, DEFAULT_KEYS, 'check the spelling');
    const d: Defaults = { ...DEFAULTS };
    const p = 'defaults';
    if (t['memory'] !== undefined) {
      d.memoryBytes = this.size(p, 'memory', t['memory']);
      const problem = memoryProblem(d.memoryBytes);
      if (problem !== null) this.fail(p, 'memory', problem);
    }
    if (t['vcpus'] !== undefined) {
      const v = t['vcpus'];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4096)
        this.fail(p, 'vcpus', 'must be a whole number of at least 1, e.g. vcpus = 2');
      d.vcpus = v;
    }
    if (t['size'] !== undefined) d.sizeBytes = this.size(p, 'size', t['size']);
    if (t['format'] !== undefined) {
      d.format = this.string(p, 'format', t['format']);
      if (!/^(qcow2|raw)$/.test(d.format)) this.fail(p, 'format', 'must be "qcow2" or "raw"');
    }
    if (t['network'] !== undefined) d.network = this.string(p, 'network', t['network']);
    if (t['domain_type'] !== undefined) {
      const v = t['domain_type'];
      if (v !== 'kvm' && v !== 'qemu')
        this.fail(
          p,
          'domain_type',
          'must be "kvm" (hardware virtualization) or "qemu" (software emulation)',
        );
      d.domainType = v;
    }
    if (t['templates'] !== undefined) {
      const v = t['templates'];
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === '')) {
        this.fail(
          p,
          'templates',
          'must be a list of directories, e.g. templates = ["/etc/mclu/templates"]',
        );
      }
      d.templates = (list as string[]).map((dir) => resolve(this.#dir, dir));
    }
    if (t['images'] !== undefined) {
      d.images = this.string(p, 'images', t['images']);
      if (!d.images.startsWith('/'))
        this.fail(
          p,
          'images',
          'must be an absolute directory on the nodes, e.g. images = "/var/lib/libvirt/images"',
        );
      d.images = d.images.replace(/\/+$/, '') || '/';
    }
    if (t['ssh_config'] !== undefined) d.sshConfig = this.path(p, 'ssh_config', t['ssh_config']);
    if (t['connect_timeout'] !== undefined) {
      const v = t['connect_timeout'];
      if (typeof v !== 'number' || !(v > 0) || v > 600)
        this.fail(
          p,
          'connect_timeout',
          'must be a number of seconds between 0 and 600, e.g. connect_timeout = 10',
        );
      d.connectTimeoutMs = Math.round(v * 1000);
    }
    if (t['poweroff_command'] !== undefined)
      d.poweroffCommand = this.string(p, 'poweroff_command', t['poweroff_command']);
    if (t['template_timeout'] !== undefined) {
      const tp = 'defaults.template_timeout';
      const tt = this.table(tp, t['template_timeout']);
      this.onlyKeys(tp, tt, ['build', 'questions'], 'it holds build and questions, in seconds');
      d.templateTimeouts = {
        buildMs:
          tt['build'] === undefined
            ? DEFAULTS.templateTimeouts.buildMs
            : this.seconds(tp, 'build', tt['build'], 'build = 1800'),
        questionsMs:
          tt['questions'] === undefined
            ? DEFAULTS.templateTimeouts.questionsMs
            : this.seconds(tp, 'questions', tt['questions'], 'questions = 30'),
      };
    }
    if (t['ssh_connection_sharing'] !== undefined)
      d.sshConnectionSharing = this.boolean(
        p,
        'ssh_connection_sharing',
        t['ssh_connection_sharing'],
      );
    if (t['ssh_control_dir'] !== undefined)
      d.sshControlDir = this.path(p, 'ssh_control_dir', t['ssh_control_dir']);
    if (t['ssh_key'] !== undefined) {
      const v = this.string(p, 'ssh_key', t['ssh_key']);
      // The key itself ("ssh-ed25519 AAAA..."), or a file: ~/ is the home directory.
      d.sshKey = /^(ssh|ecdsa|sk)-\S+\s/.test(v)
        ? { key: v }
        : { file: v.startsWith('~/') ? join(homedir(), v.slice(2)) : resolve(this.#dir, v) };
    }
    return d;
  }

  node(name: string, value: unknown): NodeConfig {
    const p = `nodes.${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
      this.fail(p, null, 'node names are letters, digits, ".", "_" and "-"');
    const t = this.table(p, value);
    this.onlyKeys(p, t, NODE_KEYS, 'check the spelling');
    if (t['host'] === undefined)
      this.fail(p, null, `missing host; add host = "root@${name}" (an ssh destination)`);
    const host = this.string(p, 'host', t['host']).replace(/^ssh:\/\//, '');
    let mac: string | null = null;
    if (t['mac'] !== undefined) {
      mac = this.string(p, 'mac', t['mac']).toLowerCase().replace(/-/g, ':');
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac))
        this.fail(p, 'mac', 'must be a MAC address such as "74:d4:35:51:ab:86"');
    }
    const uri =
      t['uri'] === undefined ? `qemu+ssh://${host}/system` : this.string(p, 'uri', t['uri']);
    if (!/^[a-z0-9+]+:\/\//.test(uri))
      this.fail(p, 'uri', 'must be a libvirt URI such as "qemu+ssh://root@ham0/system"');
    let wolAddress = { host: '255.255.255.255', port: 9 };
    if (t['wol_address'] !== undefined) {
      const text = this.string(p, 'wol_address', t['wol_address']);
      const m = /^(.+?)(?::(\d+))?$/.exec(text);
      const port = m?.[2] === undefined ? 9 : Number(m[2]);
      if (!m?.[1] || port < 1 || port > 65535)
        this.fail(p, 'wol_address', 'must be ADDRESS[:PORT], e.g. "192.168.0.255:9"');
      wolAddress = { host: m[1], port };
    }
    return { name, host, mac, uri, wolAddress };
  }
}

/** The 1-based line of `key` inside table `table` (or of the table's header), if found. */
function findLine(text: string, table: string, key: string | null): number | null {
  const lines = text.split('\n');
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      current = (header[1] ?? '').replace(/["']/g, '').replace(/\s*\.\s*/g, '.');
      if (key === null && current === table) return i + 1;
      continue;
    }
    if (key !== null && current === table) {
      const k = /^["']?([A-Za-z0-9_-]+)["']?\s*=/.exec(line);
      if (k?.[1] === key) return i + 1;
    }
  }
  return null;
}
