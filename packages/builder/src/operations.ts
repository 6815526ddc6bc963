// The customisations a build applies, in the order given, as virt-customize takes them on
// its command line: `--hostname`, `--ssh-inject`, `--timezone`, `--install`,
// `--run-command`, `--firstboot-command`. Parsing and every check that needs no appliance
// happen here, before anything is copied or launched: a build that is going to be refused
// is refused in milliseconds. Any other virt-customize option is refused, never ignored.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BuilderError, messageOf } from './errors.js';
import { checkPackageNames } from './tree.js';

export type Operation =
  | { kind: 'hostname'; hostname: string }
  | { kind: 'ssh-inject'; user: string; key: string; from: string }
  | { kind: 'timezone'; timezone: string }
  | { kind: 'install'; packages: string[] }
  | { kind: 'run-command'; command: string }
  | { kind: 'firstboot-command'; command: string };

export const OPERATION_OPTIONS = [
  'hostname',
  'ssh-inject',
  'timezone',
  'install',
  'run-command',
  'firstboot-command',
] as const satisfies readonly Operation['kind'][];

const bad = (message: string): BuilderError => new BuilderError('BAD_REQUEST', message);

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

export function checkHostname(hostname: string): void {
  if (hostname.length > 253 || !HOSTNAME.test(hostname))
    throw bad(
      `--hostname ${JSON.stringify(hostname)}: not a host name (labels of letters, digits and "-", at most 63 characters each, separated by dots, e.g. web or web.example.com)`,
    );
}

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const TIMEZONE = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/;

/** The key types OpenSSH writes to `.pub` files. */
const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** The fields of a key blob (each a uint32 length and its bytes, RFC 4253 section 6.6), or
 *  null when the bytes do not split exactly into such fields (a truncated paste). */
function blobFields(blob: Buffer): Buffer[] | null {
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return null;
    const end = at + 4 + blob.readUInt32BE(at);
    if (end > blob.length) return null;
    fields.push(blob.subarray(at + 4, end));
    at = end;
  }
  return fields;
}

/**
 * Checks an OpenSSH public key line (`TYPE BASE64 [COMMENT]`): a known type, and base64
 * that splits into the key's fields, the first repeating the type (so a truncated or
 * mangled paste is caught here, not at the first login). Returns the line without
 * surrounding space.
 */
export function checkPublicKey(text: string, from: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1)
    throw bad(
      `${from}: expected one ssh public key line (TYPE BASE64 [COMMENT]), found ${lines.length}`,
    );
  const line = lines[0] ?? '';
  const [type = '', base64 = ''] = line.split(/\s+/);
  const fields = /^[A-Za-z0-9+/]+={0,2}$/.test(base64)
    ? blobFields(Buffer.from(base64, 'base64'))
    : null;
  if (
    !KEY_TYPES.has(type) ||
    fields === null ||
    fields.length < 2 ||
    fields[0]?.toString('latin1') !== type
  )
    throw bad(
      `${from}: not an ssh public key (want a line such as "ssh-ed25519 AAAA... user@host", as in ~/.ssh/id_ed25519.pub${KEY_TYPES.has(type) ? '; its base64 part is damaged' : ''})`,
    );
  return line;
}

/** The current user's public key as ssh-copy-id picks it: the newest `~/.ssh/id*.pub`. */
export function defaultPublicKeyFile(home = homedir()): string | null {
  const dir = join(home, '.ssh');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const candidates = names
    .filter((n) => n.startsWith('id') && n.endsWith('.pub') && !n.endsWith('-cert.pub'))
    .map((n) => ({ path: join(dir, n), mtime: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  return candidates[0]?.path ?? null;
}

function readKeyFile(path: string, option: string): string {
  try {
    return checkPublicKey(readFileSync(path, 'utf8'), path);
  } catch (error) {
    if (error instanceof BuilderError) throw error;
    throw bad(`${option}: cannot read ${path}: ${messageOf(error)}`);
  }
}

/** `USER[:file:PATH|:string:KEY]`, as virt-customize's --ssh-inject. */
function sshInject(value: string): Operation {
  const option = `--ssh-inject ${value}`;
  const colon = value.indexOf(':');
  const user = colon < 0 ? value : value.slice(0, colon);
  if (!USER.test(user))
    throw bad(`${option}: ${JSON.stringify(user)} is not a user name (e.g. root)`);
  if (colon < 0) {
    const file = defaultPublicKeyFile();
    if (file === null)
      throw bad(
        `${option}: no public key in ~/.ssh (id*.pub); make one with ssh-keygen, or give it: --ssh-inject ${user}:file:PATH`,
      );
    return { kind: 'ssh-inject', user, key: readKeyFile(file, option), from: file };
  }
  const selector = value.slice(colon + 1);
  if (selector.startsWith('file:')) {
    const path = selector.slice('file:'.length);
    return { kind: 'ssh-inject', user, key: readKeyFile(path, option), from: path };
  }
  if (selector.startsWith('string:')) {
    const key = checkPublicKey(selector.slice('string:'.length), `--ssh-inject ${user}:string:`);
    return { kind: 'ssh-inject', user, key, from: 'the command line' };
  }
  throw bad(`${option}: the key is given as ${user}:file:PATH or ${user}:string:KEY`);
}

/** Checks one operation's values (what can be checked without the guest). */
export function checkOperation(op: Operation): void {
  switch (op.kind) {
    case 'hostname':
      return checkHostname(op.hostname);
    case 'ssh-inject':
      if (!USER.test(op.user))
        throw bad(`--ssh-inject: ${JSON.stringify(op.user)} is not a user name`);
      checkPublicKey(op.key, op.from);
      return;
    case 'timezone':
      if (!TIMEZONE.test(op.timezone))
        throw bad(
          `--timezone ${JSON.stringify(op.timezone)}: not a time zone name (a location such as Europe/London or UTC)`,
        );
      return;
    case 'install':
      if (op.packages.length === 0) throw bad('--install: give one or more packages: PKG,PKG...');
      return checkPackageNames(op.packages, '--install');
    case 'run-command':
    case 'firstboot-command':
      if (op.command.trim() === '') throw bad(`--${op.kind}: the command is empty`);
      return;
  }
}

function operation(name: (typeof OPERATION_OPTIONS)[number], value: string): Operation {
  switch (name) {
    case 'hostname':
      return { kind: 'hostname', hostname: value };
    case 'ssh-inject':
      return sshInject(value);
    case 'timezone':
      return { kind: 'timezone', timezone: value };
    case 'install':
      return { kind: 'install', packages: value.split(',').filter((p) => p !== '') };
    case 'run-command':
      return { kind: 'run-command', command: value };
    case 'firstboot-command':
      return { kind: 'firstboot-command', command: value };
  }
}

/**
 * Parses virt-customize-style arguments into operations, in their order. A value that cannot
 * be right, and any option this builder does not implement, is an error that says so.
 */
export function parseOperations(args: readonly string[]): Operation[] {
  let tokens;
  try {
    tokens = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        OPERATION_OPTIONS.map((name) => [name, { type: 'string', multiple: true }]),
      ) as Record<(typeof OPERATION_OPTIONS)[number], { type: 'string'; multiple: true }>,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }).tokens;
  } catch (error) {
    throw bad(
      `${messageOf(error).replace(/\. To specify a positional argument.*$/s, '')}; the customisations implemented are ${OPERATION_OPTIONS.map((o) => `--${o}`).join(', ')} (virt-customize's others are refused, not ignored)`,
    );
  }
  const operations: Operation[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const op = operation(token.name, token.value ?? '');
    checkOperation(op);
    operations.push(op);
  }
  return operations;
}
