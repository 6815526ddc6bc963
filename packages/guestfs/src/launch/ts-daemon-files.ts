/**
 * The appliance with the TypeScript daemon, as supermin input: the distribution's supermin.d,
 * plus Node.js (copied from the host, as supermin copies the host's packages) and a tarball
 * with the daemon's compiled modules, @tsvirt/xdr, and a /usr/sbin/guestfsd that runs them in
 * place of the C daemon (the appliance's /init starts `guestfsd` by that name, with
 * guestfsd's own options).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the daemon's modules go in the appliance. */
const INSTALL_DIR = 'usr/lib/tsguestfsd';

export interface TsDaemonFiles {
  /** Files of the daemon: host path → path in the appliance (relative to its root). */
  readonly files: readonly { readonly from: string; readonly to: string }[];
  /** The Node.js binary, by its real path (it has the same path in the appliance). */
  readonly node: string;
  /** Changes when the daemon's code or Node.js changes (part of the appliance's cache key). */
  readonly key: string;
}

/** Every .js file under a directory, recursively, with its path relative to it. */
function jsFiles(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const rel = join(sub, e.name);
    if (e.isDirectory()) return jsFiles(dir, rel);
    return e.name.endsWith('.js') ? [rel] : [];
  });
}

/** The compiled daemon (src/daemon and what it imports: protocol, rpc) and @tsvirt/xdr. */
export function tsDaemonFiles(): TsDaemonFiles {
  const dist = fileURLToPath(new URL('../', import.meta.url)); // this package's dist/src
  const files: { from: string; to: string }[] = [];
  for (const sub of ['daemon', 'protocol', 'rpc']) {
    for (const f of jsFiles(join(dist, sub))) {
      files.push({ from: join(dist, sub, f), to: join(INSTALL_DIR, 'dist/src', sub, f) });
    }
  }
  const xdrSrc = dirname(fileURLToPath(import.meta.resolve('@tsvirt/xdr'))); // xdr's dist/src
  const xdrTo = join(INSTALL_DIR, 'node_modules/@tsvirt/xdr');
  for (const f of jsFiles(xdrSrc)) {
    if (!f.startsWith('xdrgen/'))
      files.push({ from: join(xdrSrc, f), to: join(xdrTo, 'dist/src', f) });
  }
  files.push({ from: join(xdrSrc, '../../package.json'), to: join(xdrTo, 'package.json') });
  const node = realpathSync(process.execPath);
  const hash = createHash('sha256');
  const s = statSync(node);
  hash.update(`${node} ${s.size} ${s.mtimeMs}\n`);
  for (const { from, to } of files) hash.update(`${to}\n`).update(readFileSync(from));
  return { files, node, key: hash.digest('hex') };
}

/**
 * Runs `f` with a supermin input directory: the distribution's files (linked), hostfiles with
 * Node.js added, and `zz-tsguestfsd.tar.gz`, unpacked after daemon.tar.gz so that its
 * guestfsd replaces the C one. Removed afterwards.
 */
export async function withTsDaemonInput<T>(
  superminDir: string,
  daemon: TsDaemonFiles,
  f: (input: string) => Promise<T>,
): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'tsguestfs-input-'));
  try {
    const tree = join(work, 'tree');
    for (const { from, to } of daemon.files) {
      mkdirSync(dirname(join(tree, to)), { recursive: true, mode: 0o755 });
      copyFileSync(from, join(tree, to));
    }
    writeFileSync(join(tree, INSTALL_DIR, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(tree, 'usr/sbin'), { recursive: true, mode: 0o755 });
    writeFileSync(
      join(tree, 'usr/sbin/guestfsd'),
      '#!/bin/sh\n# The guestfs daemon in TypeScript (@tsvirt/guestfs), in place of the C one.\n' +
        `exec ${daemon.node} /${INSTALL_DIR}/dist/src/daemon/main.js "$@"\n`,
      { mode: 0o755 },
    );
    const input = join(work, 'input');
    mkdirSync(input);
    for (const name of readdirSync(superminDir)) {
      if (name !== 'hostfiles') symlinkSync(join(superminDir, name), join(input, name));
    }
    const hostfiles = readFileSync(join(superminDir, 'hostfiles'), 'utf8').replace(/\n?$/, '\n');
    writeFileSync(join(input, 'hostfiles'), `${hostfiles}${daemon.node}\n`);
    await run('tar', [
      '-C',
      tree,
      '--owner=0',
      '--group=0',
      '-czf',
      join(input, 'zz-tsguestfsd.tar.gz'),
      'usr',
    ]);
    return await f(input);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
