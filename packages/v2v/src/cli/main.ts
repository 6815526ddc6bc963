#!/usr/bin/env node
// tsv2v: virt-v2v's command line on @tsvirt/v2v. Parse arguments, call the library, print.
// virt-v2v spells its options with one dash and several letters (-ic, -os, -of...): they are
// turned into long options before commander reads them. Exit status 0 on success, 1 on a
// failure, 2 on a usage error, 128 + the signal's number when interrupted.
import { readFileSync } from 'node:fs';
import {
  type FailurePolicy,
  Option,
  UsageError,
  createProgram,
  packageVersion,
  reportFailure,
  runProgram,
  signalStatus,
} from '@tsvirt/cli-kit';
import { convert, type ConversionResult } from '../convert.js';
import { V2vError } from '../errors.js';
import { diskSource } from '../input/disk.js';
import { libvirtSource } from '../input/libvirt.js';
import { libvirtXmlSource } from '../input/libvirtxml.js';
import { ovaSource } from '../input/ova.js';
import type { NetworkMapping } from '../domain-xml.js';
import { LibvirtOutput } from '../output/libvirt.js';
import { LocalOutput } from '../output/local.js';
import { NullOutput } from '../output/null.js';
import type { Output } from '../output/output.js';
import { describeSource, type SourceGuest } from '../source.js';
import type { RootChoice } from '../inspect-source.js';
import { normaliseArgv } from './argv.js';
import { Reporter } from './report.js';

/** virt-v2v options this tool does not implement: refused with the reason, never ignored. */
const REFUSED: Record<string, string> = {
  io: '-io (input options: vddk, ssh...) is not implemented',
  oo: '-oo (output options) is not implemented',
  op: '-op (output password) is not implemented: no output needs it',
  ip: '-ip (input password) is not implemented: use ssh keys with -i libvirt',
  it: '-it (input transport, vddk/ssh) is not implemented',
  key: '--key (LUKS) is not implemented',
  mac: '--mac is not implemented',
  parallel: '--parallel is not implemented: disks are copied one after the other',
  compressed: '--compressed is not implemented',
  x: '-x (trace of libguestfs calls) is not implemented; -v shows the appliance',
  'block-driver': '--block-driver is not implemented: disks are virtio-blk (or IDE without virtio)',
};

interface Opts {
  i: string;
  ic?: string;
  if?: string;
  o: string;
  oc?: string;
  os?: string;
  of: 'raw' | 'qcow2';
  oa: 'sparse' | 'preallocated';
  on?: string;
  network?: string;
  bridge?: string;
  root: RootChoice;
  fstrim: boolean;
  keepSerialConsole?: boolean;
  machineReadable?: boolean;
  printSource?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  domainType?: 'kvm' | 'qemu';
}

const program = createProgram(
  'tsv2v',
  'convert a guest to run on KVM under libvirt (virt-v2v, in TypeScript)',
  packageVersion(import.meta.url),
)
  .usage(
    '-i INPUT [-ic URI] [-if FMT] SOURCE... -o OUTPUT [-oc URI] [-os STORAGE] [-of raw|qcow2] [-oa sparse|preallocated] [-on NAME] [options]',
  )
  .argument(
    '[source...]',
    'disk images (-i disk), a guest name (-i libvirt), an XML file (-i libvirtxml), an OVA (-i ova)',
  )
  .addOption(
    new Option('-i <input>', 'input: disk, libvirt, libvirtxml, ova')
      .choices(['disk', 'libvirt', 'libvirtxml', 'ova'])
      .default('libvirt'),
  )
  .addOption(new Option('--ic <uri>', '-ic: the libvirt URI of -i libvirt'))
  .addOption(new Option('--if <format>', '-if: the format of -i disk images (default: detected)'))
  .addOption(
    new Option('-o <output>', 'output: local (also: disk), libvirt, null')
      .choices(['local', 'disk', 'libvirt', 'null'])
      .default('libvirt'),
  )
  .addOption(
    new Option('--oc <uri>', '-oc: the libvirt URI of -o libvirt (default qemu:///system)'),
  )
  .addOption(
    new Option('--os <storage>', '-os: the directory (-o local) or storage pool (-o libvirt)'),
  )
  .addOption(
    new Option('--of <format>', '-of: target disk format').choices(['raw', 'qcow2']).default('raw'),
  )
  .addOption(
    new Option('--oa <allocation>', '-oa: target allocation')
      .choices(['sparse', 'preallocated'])
      .default('sparse'),
  )
  .addOption(new Option('--on <name>', "-on: the target guest's name"))
  .option(
    '-n, --network <network>',
    'connect every NIC to this libvirt network ("user": user-mode networking)',
  )
  .option('-b, --bridge <bridge>', 'connect every NIC to this host bridge')
  .option(
    '--root <root>',
    'which root to convert when there are several: single (refuse), first, or a device',
    'single',
  )
  .option(
    '--no-fstrim',
    'do not trim free space before the copy (copies more, for filesystems that trim badly)',
  )
  .option('--keep-serial-console', 'keep Xen hvc0/xvc0 consoles, moved to ttyS0')
  .option('--machine-readable', 'messages as JSON lines on stdout; alone, list the capabilities')
  .option('--print-source', "print the source's metadata and stop")
  .option('--dry-run', 'do every check and the inspection, print the plan, write nothing')
  .addOption(
    new Option(
      '--domain-type <type>',
      '-o libvirt: kvm or qemu (default: kvm when the host offers it)',
    ).choices(['kvm', 'qemu']),
  )
  .option('-v, --verbose', "the appliance's console on stderr")
  .option('-q, --quiet', 'no progress messages')
  .action(run);

/** The first virt-v2v option given that is not implemented, as the reason it is refused. */
function refusal(argv: readonly string[]): string | null {
  for (const arg of argv) {
    if (arg === '--') return null;
    const name = /^--?([a-z][a-z-]*)(=.*)?$/.exec(arg)?.[1];
    if (name !== undefined && REFUSED[name] !== undefined) return REFUSED[name];
  }
  return null;
}

const CAPABILITIES = [
  'virt-v2v',
  'virt-v2v-2.0',
  'tsv2v',
  'input:disk',
  'input:libvirt',
  'input:libvirtxml',
  'input:ova',
  'output:libvirt',
  'output:local',
  'output:null',
  'convert:linux',
  'dry-run',
  'initramfs-rebuild-when-needed',
];

function networkMapping(o: Opts): NetworkMapping {
  if (o.network !== undefined && o.bridge !== undefined)
    throw new V2vError('USAGE', 'give -n or -b, not both');
  if (o.network === 'user') return { kind: 'user' };
  if (o.network !== undefined) return { kind: 'network', name: o.network };
  if (o.bridge !== undefined) return { kind: 'bridge', name: o.bridge };
  return { kind: 'source' };
}

function sourceOf(
  o: Opts,
  args: string[],
  reporter: Reporter,
): (workDir: string | null) => Promise<SourceGuest> {
  const one = (what: string): string => {
    if (args.length !== 1) throw new V2vError('USAGE', `-i ${o.i}: give exactly one ${what}`);
    return args[0]!;
  };
  if (o.ic !== undefined && o.i !== 'libvirt')
    throw new V2vError('USAGE', `-ic is for -i libvirt, not -i ${o.i}`);
  if (o.if !== undefined && o.i !== 'disk')
    throw new V2vError('USAGE', `-if is for -i disk, not -i ${o.i}`);
  switch (o.i) {
    case 'disk':
      return () => diskSource(args, o.if);
    case 'libvirtxml': {
      const file = one('XML file');
      return () => {
        let xml: string;
        try {
          xml = readFileSync(file, 'utf8');
        } catch (e) {
          throw new V2vError('INPUT', `${file}: ${(e as Error).message}`);
        }
        return Promise.resolve(libvirtXmlSource(xml, file));
      };
    }
    case 'ova': {
      const file = one('OVA file or directory');
      return () => ovaSource(file);
    }
    default: {
      const guest = one('guest name');
      return (workDir) =>
        libvirtSource({
          uri: o.ic ?? 'qemu:///system',
          guest,
          workDir,
          onProgress: (disk, done, total) =>
            reporter.progress(`fetching disk ${disk + 1}`, done, total),
        });
    }
  }
}

function outputOf(o: Opts): (workDir: string) => Output {
  const network = networkMapping(o);
  if (o.oc !== undefined && o.o !== 'libvirt')
    throw new V2vError('USAGE', `-oc is for -o libvirt, not -o ${o.o}`);
  switch (o.o) {
    case 'null':
      if (o.os !== undefined) throw new V2vError('USAGE', '-o null takes no -os');
      return (workDir) => new NullOutput(workDir);
    case 'libvirt':
      if (o.os === undefined)
        throw new V2vError('USAGE', '-o libvirt needs -os POOL (a libvirt storage pool)');
      return (workDir) =>
        new LibvirtOutput({
          uri: o.oc ?? 'qemu:///system',
          pool: o.os!,
          network,
          format: o.of,
          allocation: o.oa,
          workDir,
          domainType: o.domainType,
        });
    default:
      if (o.os === undefined) throw new V2vError('USAGE', `-o ${o.o} needs -os DIRECTORY`);
      return (workDir) =>
        new LocalOutput(o.os!, { format: o.of, allocation: o.oa, workDir }, network);
  }
}

function rootChoice(root: string): RootChoice {
  if (root === 'single' || root === 'first') return root;
  if (root.startsWith('/dev/')) return root as `/dev/${string}`;
  throw new V2vError('USAGE', `--root ${root}: give single, first or a device such as /dev/sda2`);
}

/** The signal that interrupted the conversion, for the exit status. */
let interruptedBy: NodeJS.Signals | null = null;

async function run(args: string[], o: Opts): Promise<void> {
  const reporter = new Reporter({
    machineReadable: o.machineReadable ?? false,
    quiet: o.quiet ?? false,
  });
  if (o.machineReadable && args.length === 0) {
    process.stdout.write(CAPABILITIES.join('\n') + '\n');
    return;
  }
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== null) process.exit(signalStatus(signal));
    interruptedBy = signal;
    reporter.warning(`${signal}: stopping; the partial target is removed (again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const source = sourceOf(o, args, reporter);
    if (o.printSource) {
      // null: the metadata only (-i libvirt fetches no disk for it).
      process.stdout.write(describeSource(await source(null)));
      return;
    }
    const result = await convert({
      source,
      output: outputOf(o),
      name: o.on,
      root: rootChoice(o.root),
      noFstrim: !o.fstrim,
      keepSerialConsole: o.keepSerialConsole,
      dryRun: o.dryRun,
      signal: controller.signal,
      events: {
        onStage: (text) => reporter.message(text),
        onInfo: (text) => reporter.info(text),
        onWarning: (text) => reporter.warning(text),
        onConsole: o.verbose ? (line) => void process.stderr.write(`${line}\n`) : undefined,
        onCopyProgress: (disk, done, total) => reporter.progress(`disk ${disk + 1}`, done, total),
      },
    });
    reporter.summary(result satisfies ConversionResult);
  } catch (e) {
    reporter.failed(e);
    throw e;
  }
}

/** Errors as the project's commands report them; a V2vError's code decides the status. */
const POLICY: FailurePolicy = {
  label: 'error:',
  expected: (e) => e instanceof V2vError,
  status: (e) => {
    if (!(e instanceof V2vError)) return undefined;
    if (e.code === 'USAGE') return 2;
    return e.code === 'INTERRUPTED' ? signalStatus(interruptedBy ?? 'SIGINT') : 1;
  },
};

const argv = normaliseArgv(process.argv.slice(2));
const refused = refusal(argv);
if (refused !== null) process.exitCode = reportFailure('tsv2v', new UsageError(refused), POLICY);
else await runProgram(program, POLICY, [...process.argv.slice(0, 2), ...argv]);
