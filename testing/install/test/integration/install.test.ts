// Each published package, packed by npm and installed on its own into an empty directory
// (its @tsvirt dependencies as tarballs too, the rest from npm's cache): its commands run by
// name and its entry points load. See the README.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

interface Manifest {
  dir: string;
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  exports?: Record<string, { types: string; default: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const workspaces = readJson<{ workspaces: string[] }>(join(ROOT, 'package.json')).workspaces;
const manifests = workspaces.map((dir) => ({
  ...readJson<Manifest>(join(ROOT, dir, 'package.json')),
  dir,
}));
const published = manifests.filter((m) => m.private !== true);
const byName = new Map(manifests.map((m) => [m.name, m]));

/** What else a check runs in the installed directory, for packages with more to prove. */
const EXTRA: Record<string, string> = {
  // C on the WebAssembly heap: the packed ilenstr.wasm is there and loads.
  '@tsvirt/ilenstr': `
    const { Ilenstr, legacy } = await import('@tsvirt/ilenstr');
    const s = Ilenstr.from('hello');
    if (s.length !== 5 || legacy('strlen', s) !== 5) throw new Error('ilenstr: wrong length');
    s.free();`,
  // The pattern plugin fills through its packed pattern.wasm.
  '@tsvirt/nbd': `
    const { createPatternPlugin } = await import('@tsvirt/nbd');
    const plugin = createPatternPlugin();
    await plugin.config?.('size', '1M');
    await plugin.configComplete?.();
    const buf = Buffer.alloc(12);
    await plugin.pread(null, buf, 4092);
    if (buf.toString('hex') !== '00000ff8' + '0000000000001000') throw new Error('nbd: wrong pattern');`,
};

/** The package and every @tsvirt package it needs at run time. */
function withDependencies(manifest: Manifest): Manifest[] {
  const needed = Object.keys(manifest.dependencies ?? {})
    .map((name) => byName.get(name))
    .filter((m): m is Manifest & { dir: string } => m !== undefined);
  return [manifest, ...needed.flatMap(withDependencies)];
}

void describe('each published package installs on its own from its tarball', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsvirt-install-'));
  const packs = new Map<string, PackResult>();
  after(() => rmSync(work, { recursive: true, force: true }));

  before(() => {
    mkdirSync(join(work, 'packs'));
    const output = execFileSync(
      'npm',
      [
        'pack',
        '--json',
        '--loglevel=error',
        `--pack-destination=${join(work, 'packs')}`,
        ...published.map((m) => `--workspace=${m.dir}`),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    for (const pack of JSON.parse(output) as PackResult[]) packs.set(pack.name, pack);
  });

  void it('there is something to publish, and every published package is packed', () => {
    assert.ok(published.length >= 9, published.map((m) => m.name).join(' '));
    assert.deepEqual([...packs.keys()].sort(), published.map((m) => m.name).sort());
  });

  for (const manifest of published) {
    void it(`${manifest.name}: the tarball holds what runs, and no tests or sources`, () => {
      const files = new Set(packs.get(manifest.name)?.files.map((f) => f.path));
      const needed = [
        'package.json',
        'README.md',
        ...Object.values(manifest.exports ?? {}).flatMap((e) => [e.types, e.default]),
        ...Object.values(manifest.bin ?? {}),
        ...(manifest.name === '@tsvirt/ilenstr' ? ['dist/ilenstr.wasm'] : []),
        ...(manifest.name === '@tsvirt/nbd' ? ['dist/pattern.wasm'] : []),
      ].map((path) => path.replace(/^\.\//, ''));
      for (const path of needed) assert.ok(files.has(path), `${path} is not in the tarball`);
      const stray = [...files].filter(
        (path) =>
          path.startsWith('dist/test/') ||
          path.includes('tsbuildinfo') ||
          (path.endsWith('.ts') && !path.endsWith('.d.ts')),
      );
      assert.deepEqual(stray, []);
    });

    void it(`${manifest.name}: installs into an empty directory; its commands and entry points run`, () => {
      const app = join(work, 'apps', manifest.name.replace(/^@tsvirt\//, ''));
      mkdirSync(app, { recursive: true });
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
      );
      const tarballs = [...new Set(withDependencies(manifest).map((m) => m.name))].map((name) =>
        join(work, 'packs', packs.get(name)?.filename ?? `${name} was not packed`),
      );
      // The peers a user of the package adds (pgts: pg and PGlite), so every entry loads.
      const peers = Object.entries(manifest.peerDependencies ?? {}).map(([n, v]) => `${n}@${v}`);
      const install = spawnSync(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
          ...tarballs,
          ...peers,
        ],
        { cwd: app, encoding: 'utf8', timeout: 600_000 },
      );
      assert.equal(install.status, 0, install.stderr);

      for (const command of Object.keys(manifest.bin ?? {})) {
        const bin = join(app, 'node_modules/.bin', command);
        const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8' });
        assert.equal(version.status, 0, `${command} --version: ${version.stderr}`);
        assert.match(version.stdout, new RegExp(`^(${command} )?${manifest.version}\\n$`));
        const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
        assert.equal(help.status, 0, `${command} --help: ${help.stderr}`);
        assert.match(help.stdout, /usage/i);
      }

      const entries = Object.keys(manifest.exports ?? {}).map((subpath) =>
        join(manifest.name, subpath).replace(/\/\.$/, ''),
      );
      const load = `
        for (const entry of ${JSON.stringify(entries)}) {
          const module = await import(entry);
          if (Object.keys(module).length === 0) throw new Error(entry + ' exports nothing');
        }
        ${EXTRA[manifest.name] ?? ''}`;
      const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', load], {
        cwd: app,
        encoding: 'utf8',
      });
      assert.equal(loaded.status, 0, loaded.stderr);
    });
  }
});
