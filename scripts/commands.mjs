#!/usr/bin/env node
// The commands of every workspace package (the `bin` of each package.json: mclu, tsnbd,
// pgts, tsguestfs, testcluster ... and any package added later), from this clone:
//
//   node scripts/commands.mjs check                 each command is built, starts with
//                                                   #!/usr/bin/env node and is executable
//                                                   (tsc writes 0644; the build runs this)
//   node scripts/commands.mjs link [--prefix DIR]   check, then link each into DIR/bin
//                                                   (default /usr/local: on PATH already)
//   node scripts/commands.mjs unlink [--prefix DIR] remove the links into this clone
//
// The links point into this clone's dist/ directories, so a later `npm run build` is
// picked up without linking again. A link left by another clone of this project (one
// still there, or one since deleted) is replaced and said so: a fresh clone, such as CI's,
// must install over the links of an older one. Any other file in DIR/bin is never
// replaced. Exit status 0, 1 on a problem (each is said), 2 on a usage error.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const USAGE =
  'usage: node scripts/commands.mjs check | link [--prefix DIR] | unlink [--prefix DIR]';

function usage(message) {
  console.error(`commands: ${message}\n${USAGE}`);
  process.exit(2);
}

const [action, ...rest] = process.argv.slice(2);
if (!['check', 'link', 'unlink'].includes(action ?? '')) usage('expected check, link or unlink');
let prefix = '/usr/local';
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--prefix' && action !== 'check' && rest[i + 1] !== undefined) prefix = rest[++i];
  else if (rest[i].startsWith('--prefix=') && action !== 'check') prefix = rest[i].slice(9);
  else usage(`unexpected argument ${rest[i]}`);
}
const binDir = join(resolve(prefix), 'bin');
const ourName = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name;

/** Every command of every workspace: its name, its package, the file it runs. */
function commands() {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return workspaces.flatMap((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const bins =
      typeof pkg.bin === 'string' ? { [pkg.name.replace(/^@.*\//, '')]: pkg.bin } : (pkg.bin ?? {});
    return Object.entries(bins).map(([name, file]) => ({ name, dir, file: join(root, dir, file) }));
  });
}

/** The problem with a command's file, or null; makes it executable. */
function checkFile({ dir, file }) {
  if (!existsSync(file)) return `${file} is missing: build first (npm run build)`;
  if (!readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')) {
    return `${file} does not start with #!/usr/bin/env node: add it to the first line of its source in ${dir}`;
  }
  chmodSync(file, 0o755);
  return null;
}

/** Where the link at `path` points, or null when `path` is not a link. */
function linkTarget(path) {
  try {
    return lstatSync(path).isSymbolicLink() ? resolve(dirname(path), readlinkSync(path)) : null;
  } catch {
    return null;
  }
}

/** Whether `path` is a link into this clone (one we may replace or remove). */
function ourLink(path) {
  return linkTarget(path)?.startsWith(root + '/') ?? false;
}

/**
 * The other clone of this project that the link at `path` points into, for `command`
 * (the same file of the same package there), or null. A clone since deleted counts too:
 * its link dangles, and it points at the very path this command has in a clone.
 */
function otherClone(path, command) {
  const target = linkTarget(path);
  const suffix = '/' + relative(root, command.file);
  if (target === null || !target.endsWith(suffix)) return null;
  const clone = target.slice(0, -suffix.length);
  if (clone === root) return null;
  if (!existsSync(target)) return clone;
  try {
    return JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')).name === ourName
      ? clone
      : null;
  } catch {
    return null;
  }
}

const all = commands();
const problems = [];
for (const command of all) {
  const link = join(binDir, command.name);
  if (action === 'unlink') {
    if (ourLink(link)) {
      unlinkSync(link);
      console.log(`removed ${link}`);
    }
    continue;
  }
  const problem = checkFile(command);
  if (problem !== null) {
    problems.push(`${command.name}: ${problem}`);
    continue;
  }
  if (action !== 'link') continue;
  try {
    mkdirSync(binDir, { recursive: true });
    const older = otherClone(link, command);
    if (older !== null || ourLink(link)) unlinkSync(link);
    if (older !== null) console.log(`${link}: replacing the link into ${older}, another clone`);
    symlinkSync(command.file, link);
    console.log(`${link} -> ${command.file}`);
  } catch (error) {
    const why =
      error.code === 'EEXIST'
        ? `${link} exists and is not a link into this clone: remove it, or choose another --prefix`
        : error.code === 'EACCES'
          ? `cannot write in ${binDir}: run as root, or choose a --prefix of your own (e.g. --prefix ~/.local)`
          : error.message;
    problems.push(`${command.name}: ${why}`);
  }
}
for (const problem of problems) console.error(`commands: ${problem}`);
if (action === 'check' && problems.length === 0)
  console.log(`commands: ${all.length} commands built and executable`);
if (
  action === 'link' &&
  problems.length === 0 &&
  !(process.env.PATH ?? '').split(':').includes(binDir)
) {
  console.error(
    `commands: note: ${binDir} is not on your PATH; add it: export PATH="${binDir}:$PATH"`,
  );
}
process.exit(problems.length > 0 ? 1 : 0);
