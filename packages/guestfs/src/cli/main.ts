#!/usr/bin/env node
// tsguestfs: the libguestfs tools' everyday commands (virt-inspector, virt-ls, virt-cat,
// virt-df, virt-copy-out, virt-copy-in) on the TypeScript client. Parse arguments, call the
// library, print. Exit status 0 on success, 1 on failure, 2 on a usage error.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import {
  type Command,
  createProgram,
  messageOf,
  Option,
  packageVersion,
  progressBar,
  runProgram,
  signalStatus,
  UsageError,
} from '@tsvirt/cli-kit';
import {
  GuestfsCancelledError,
  GuestfsConnectionError,
  GuestfsError,
  GuestfsLaunchError,
} from '../errors.js';
import type { Guestfs } from '../guestfs.js';
import type { Progress } from '../rpc/session.js';
import { inspect } from '../inspect.js';
import type { AccelMode } from '../launch/accel.js';
import type { DaemonChoice } from '../launch/appliance.js';
import type { Drive } from '../launch/drives.js';
import { launch } from '../launch/launch.js';
import { type DfRow, dfTable, inspectJson, inspectorXml } from './output.js';

/** A failure to report in one line, without a stack trace: exit status 1. */
class CommandError extends Error {}

interface ImageOptions {
  add: string[];
  format?: 'raw' | 'qcow2';
  ro?: boolean;
  memsize?: string;
  smp?: string;
  accel?: AccelMode;
  appliance?: string;
  daemon?: DaemonChoice;
  consoleLog?: string;
  verbose?: boolean;
}

const program = createProgram(
  'tsguestfs',
  'inspect and edit disk images through the libguestfs appliance, from TypeScript',
  packageVersion(import.meta.url),
);

/** The options every command takes to name and open its disk images. */
function withImageOptions(command: Command): Command {
  return command
    .option(
      '-a, --add <image>',
      'disk image file or NBD URI (nbd+unix:///?socket=PATH); repeat for each disk',
      (v: string, all: string[] = []) => [...all, v],
    )
    .addOption(
      new Option('--format <format>', 'format of the image files (default raw)').choices([
        'raw',
        'qcow2',
      ]),
    )
    .option('--ro', 'open the disks read-only (the default for every command but copy-in)')
    .option('--memsize <MiB>', 'appliance memory (default 1280)')
    .option('--smp <n>', 'appliance vCPUs (default 1)')
    .addOption(
      new Option('--accel <accel>', 'kvm, tcg, or auto: KVM where a probe boot works')
        .choices(['auto', 'kvm', 'tcg'])
        .default('auto'),
    )
    .option('--appliance <dir>', 'a fixed appliance directory (kernel, initrd, root)')
    .addOption(
      new Option(
        '--daemon <daemon>',
        "the appliance's daemon: c (libguestfs's) or ts (ours, a subset of the procedures)",
      ).choices(['c', 'ts']),
    )
    .option('--console-log <file>', "write the appliance's serial console to a file")
    .option('-v, --verbose', "show the appliance's console on stderr");
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} ${text}: must be a whole number of at least 1`);
  return n;
}

let open: Guestfs | null = null;

/** Launches the appliance on the images, runs `work`, always closes the handle. */
async function withImages<T>(
  options: ImageOptions,
  readonly: boolean,
  work: (g: Guestfs) => Promise<T>,
): Promise<T> {
  const images = options.add ?? [];
  if (images.length === 0) throw new UsageError('no disk image: give one with -a IMAGE');
  const drives: Drive[] = images.map((source) => ({ source, format: options.format, readonly }));
  const g = await launch({
    drives,
    memoryMiB: positiveInteger('memsize', options.memsize),
    cpus: positiveInteger('smp', options.smp),
    accel: options.accel,
    applianceDir: options.appliance,
    daemon: options.daemon,
    consoleLog: options.consoleLog,
    verbose: options.verbose,
    onConsole: options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  open = g;
  try {
    return await work(g);
  } finally {
    open = null;
    await g.close();
  }
}

/**
 * Mounts the guest's filesystems where its fstab puts them, as the tools' `-i` does:
 * exactly one operating system, read-only unless writing.
 */
async function mountGuest(g: Guestfs, readonly: boolean): Promise<void> {
  const roots = await g.inspectOs();
  if (roots.length === 0) {
    throw new CommandError(
      'no operating system was found on this disk image (is it the right disk, or all of a multi-disk guest?)',
    );
  }
  if (roots.length > 1) {
    throw new CommandError(
      `this disk image has ${roots.length} operating systems (${roots.join(', ')}): multi-boot guests are not supported`,
    );
  }
  const mountpoints = Object.entries(await g.inspectGetMountpoints(roots[0]!)).sort(
    (a, b) => a[0].length - b[0].length,
  );
  for (const [mountpoint, device] of mountpoints) {
    try {
      if (readonly) await g.mountRo(device, mountpoint);
      else await g.mount(device, mountpoint);
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
      process.stderr.write(
        `tsguestfs: warning: ${device} not mounted on ${mountpoint}: ${e.message}\n`,
      );
    }
  }
}

withImageOptions(
  program
    .command('inspect')
    .description("what operating systems the images hold (virt-inspector's report)")
    .option('--json', 'print JSON instead of XML')
    .option('--no-applications', 'do not list installed packages')
    .option('--no-icon', "do not include the distribution's logo"),
).action(
  async (options: ImageOptions & { json?: boolean; applications: boolean; icon: boolean }) => {
    const oses = await withImages(options, true, (g) =>
      inspect(g, { applications: options.applications, icon: options.icon }),
    );
    if (oses.length === 0)
      throw new CommandError('no operating system was found on this disk image');
    process.stdout.write(
      options.json ? JSON.stringify(inspectJson(oses), null, 2) + '\n' : inspectorXml(oses),
    );
  },
);

withImageOptions(
  program
    .command('ls')
    .description('list a directory in the guest (virt-ls)')
    .argument('<directory>')
    .option('-l, --long', 'long listing (ls -la in the guest)')
    .option('-R, --recursive', 'every file below the directory')
    .option('--json', 'print the names as a JSON array'),
).action(
  async (
    directory: string,
    options: ImageOptions & { long?: boolean; recursive?: boolean; json?: boolean },
  ) => {
    if (options.long && options.json) throw new UsageError('-l and --json cannot be used together');
    if (options.long && options.recursive)
      throw new UsageError('-l and -R together are not supported');
    await withImages(options, true, async (g) => {
      await mountGuest(g, true);
      if (options.long && !options.recursive) {
        process.stdout.write(await g.ll(directory));
        return;
      }
      if (options.long) {
        process.stdout.write(await g.llz(directory));
        return;
      }
      const names = options.recursive ? await g.find(directory) : await g.ls(directory);
      process.stdout.write(
        options.json ? JSON.stringify(names) + '\n' : names.map((n) => `${n}\n`).join(''),
      );
    });
  },
);

withImageOptions(
  program.command('cat').description('print files of the guest (virt-cat)').argument('<files...>'),
).action(async (files: string[], options: ImageOptions) => {
  await withImages(options, true, async (g) => {
    await mountGuest(g, true);
    for (const file of files) await g.download(file, process.stdout);
  });
});

withImageOptions(
  program
    .command('df')
    .description('free space on the guest filesystems (virt-df)')
    .option('-h, --human-readable', 'sizes in K, M, G')
    .option('--json', 'print JSON (sizes in bytes)'),
).action(async (options: ImageOptions & { humanReadable?: boolean; json?: boolean }) => {
  const rows = await withImages(options, true, async (g) => {
    const devices = Object.entries(await g.listFilesystems()).filter(
      ([, t]) => t !== 'swap' && t !== 'unknown',
    );
    const result: DfRow[] = [];
    const image = basename(options.add[0]!);
    for (const [device] of devices) {
      try {
        await g.mountRo(device, '/');
      } catch (e) {
        if (e instanceof GuestfsError) continue;
        throw e;
      }
      const s = await g.statvfs('/');
      await g.umountAll();
      const blocks1k = (s.blocks * s.frsize) / 1024n;
      const free1k = (s.bfree * s.frsize) / 1024n;
      const available1k = (s.bavail * s.frsize) / 1024n;
      const used1k = blocks1k - free1k;
      result.push({
        name: `${image}:${device}`,
        blocks1k,
        used1k,
        available1k,
        sizeBytes: s.blocks * s.frsize,
        usedBytes: (s.blocks - s.bfree) * s.frsize,
        availableBytes: s.bavail * s.frsize,
        usePercent: blocks1k === 0n ? 0 : (100 * Number(used1k)) / Number(blocks1k),
      });
    }
    return result;
  });
  if (options.json) {
    const num = (n: bigint): number => Number(n);
    process.stdout.write(
      JSON.stringify(
        rows.map((r) => ({
          filesystem: r.name,
          size_bytes: num(r.sizeBytes),
          used_bytes: num(r.usedBytes),
          available_bytes: num(r.availableBytes),
          use_percent: Math.round(r.usePercent),
        })),
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(dfTable(rows, options.humanReadable === true));
  }
});

withImageOptions(
  program
    .command('copy-out')
    .description(
      'copy files or directories out of the guest into a local directory (virt-copy-out)',
    )
    .argument('<paths...>', 'guest paths, then the local directory'),
).action(async (args: string[], options: ImageOptions) => {
  if (args.length < 2)
    throw new UsageError('copy-out needs at least one guest path and a local directory');
  const localDir = resolve(args.at(-1)!);
  if (!existsSync(localDir) || !statSync(localDir).isDirectory()) {
    throw new UsageError(`${localDir}: not a local directory`);
  }
  await withImages(options, true, async (g) => {
    await mountGuest(g, true);
    for (const path of args.slice(0, -1)) {
      const target = join(localDir, basename(path) || 'root');
      if (await g.isDir(path)) {
        mkdirSync(target, { recursive: true });
        await tarExtract(target, (stream) => g.tarOut(path, stream));
      } else {
        const bar = progressBar(basename(path));
        try {
          const onProgress = ({ position, total }: Progress): void => bar.update(position, total);
          await g.with({ onProgress }).download(path, target);
        } finally {
          bar.stop();
        }
      }
    }
  });
});

withImageOptions(
  program
    .command('copy-in')
    .description(
      'copy local files or directories into a guest directory (virt-copy-in); the image is written',
    )
    .argument('<paths...>', 'local files or directories, then the guest directory'),
).action(async (args: string[], options: ImageOptions) => {
  if (args.length < 2)
    throw new UsageError('copy-in needs at least one local path and a guest directory');
  if (options.ro) throw new UsageError('copy-in writes to the image: --ro cannot be used');
  const remoteDir = args.at(-1)!;
  const locals = args.slice(0, -1).map((p) => resolve(p));
  for (const local of locals)
    if (!existsSync(local)) throw new UsageError(`${local}: no such local file or directory`);
  await withImages(options, false, async (g) => {
    await mountGuest(g, false);
    if (!(await g.isDir(remoteDir)))
      throw new CommandError(`${remoteDir}: not a directory in the guest`);
    for (const local of locals) {
      const tar = spawn('tar', ['-cf', '-', '-C', dirname(local), basename(local)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      tar.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((r) => tar.once('close', r));
      await g.tarIn(tar.stdout, remoteDir);
      if ((await exited) !== 0) throw new CommandError(`tar of ${local} failed: ${stderr.trim()}`);
    }
  });
});

/** Runs a FileOut tar procedure into a local `tar -x` in `dir`. */
async function tarExtract(
  dir: string,
  produce: (stream: Writable) => Promise<void>,
): Promise<void> {
  const tar = spawn('tar', ['-xf', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => tar.once('close', r));
  try {
    await produce(tar.stdin);
  } finally {
    tar.stdin.end();
  }
  if ((await exited) !== 0) throw new CommandError(`tar -x in ${dir} failed: ${stderr.trim()}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`tsguestfs: interrupted\n`);
    const g = open;
    void (g === null ? Promise.resolve() : g.close().catch(() => undefined)).finally(() =>
      process.exit(signalStatus(signal)),
    );
  });
}

await runProgram(program, {
  message: (e) =>
    e instanceof GuestfsLaunchError
      ? `the appliance could not be started: ${e.message}`
      : messageOf(e),
  expected: (e) =>
    e instanceof GuestfsError ||
    e instanceof GuestfsLaunchError ||
    e instanceof GuestfsCancelledError ||
    e instanceof GuestfsConnectionError ||
    e instanceof CommandError,
});
