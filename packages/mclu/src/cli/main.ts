#!/usr/bin/env node
// The mclu command line: parse arguments, call the library, print. Exit status 0 on
// success, 1 on failure, 2 on a usage error.
import {
  createProgram,
  ExitStatus,
  packageVersion,
  progressBar,
  runProgram,
} from '@tsvirt/cli-kit';
import { createInterface } from 'node:readline/promises';
import { bootGuest, prepareBoot } from '../boot.js';
import { Cluster, configuredNode } from '../cluster.js';
import { loadConfig, type McluConfig } from '../config.js';
import { McluError, messageOf, OperationError, UsageError } from '../errors.js';
import {
  deleteGuest,
  deleteLoneVolumes,
  findGuest,
  findLoneVolumes,
  guestInfo,
  lifecycle,
  parseGuestSpec,
  waitForState,
  type LifecycleAction,
} from '../guests.js';
import { checkGuestName } from '../names.js';
import { libvirtConnector } from '../libvirt-connector.js';
import { importGuest, type ImportInput } from '../import.js';
import { migrateGuest } from '../migrate.js';
import { powerOffNode } from '../power.js';
import { memoryProblem, parseSize, SIZE_RULE } from '../size.js';
import { clusterStatus, listGuests } from '../status.js';
import { findTemplates, queryTemplate, templateSearchPath } from '../templates.js';
import { runViewer, viewerCommand } from '../viewer.js';
import { wakeNode } from '../wol.js';
import { bridgeConsole } from './console.js';
import * as format from './format.js';
import { interruptedStatus, withInterrupts } from './interrupt.js';

interface GlobalOptions {
  configFile?: string;
  debug?: boolean;
}

const program = createProgram(
  'mclu',
  'mclu, the Mini Cloud: manage a small cluster of libvirt hosts over ssh',
  packageVersion(import.meta.url),
).option(
  '-f, --config-file <file>',
  'configuration file (default: $MCLU_CONFIG, ./mclu.conf, $XDG_CONFIG_HOME/mclu/mclu.conf, /etc/mclu/mclu.conf)',
);

function globals(): GlobalOptions {
  return program.opts<GlobalOptions>();
}

function config(): McluConfig {
  return loadConfig(globals().configFile);
}

function print(text: string): void {
  process.stdout.write(text);
}

function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function note(text: string): void {
  process.stderr.write(`mclu: ${text}\n`);
}

/** Opens the cluster (all nodes, or those named), runs `work`, always closes it. */
async function withCluster<T>(
  work: (cluster: Cluster) => Promise<T>,
  nodes?: readonly string[],
  signal?: AbortSignal,
  cfg: McluConfig = config(),
): Promise<T> {
  const cluster = await Cluster.open(cfg, libvirtConnector, nodes, signal);
  try {
    return await work(cluster);
  } finally {
    await cluster.close();
  }
}

function sizeOption(name: string, text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === null) throw new UsageError(`--${name} ${text}: not a size; write ${SIZE_RULE}`);
  return bytes;
}

function memoryOption(text: string | undefined): bigint | undefined {
  const bytes = sizeOption('memory', text);
  const problem = bytes === undefined ? null : memoryProblem(bytes);
  if (problem !== null) throw new UsageError(`--memory ${text}: ${problem}`);
  return bytes;
}

/** A positive whole number written in decimal digits (no sign, fraction, exponent or hex). */
function countOption(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max))
    throw new UsageError(
      `--${name} ${text}: must be a whole number from 1 to ${max}, in decimal digits`,
    );
  return n;
}

program
  .command('status')
  .description('per node: on/off (and why), total pcpus and memory, what guests use, free memory')
  .argument('[nodes...]', 'nodes to show (default: all)')
  .option('--json', 'machine-readable output')
  .action(async (nodes: string[], options: { json?: boolean }) => {
    const statuses = await withCluster((cluster) => clusterStatus(cluster), nodes);
    if (options.json) printJson(format.statusJson(statuses));
    else print(format.formatStatus(statuses));
  });

program
  .command('list')
  .description('the guests of every reachable node')
  .option('--all', 'include defined guests that are not running')
  .option('--json', 'machine-readable output')
  .action(async (options: { all?: boolean; json?: boolean }) => {
    const listing = await withCluster((cluster) => listGuests(cluster, options.all === true));
    for (const u of listing.unreachable)
      note(`${u.node} is off or unreachable (${u.error}); its guests are not listed`);
    if (options.json) printJson(format.listJson(listing));
    else print(format.formatList(listing));
  });

program
  .command('info')
  .description('details of one guest: node, state, resources, disks, interfaces, consoles')
  .argument('<guest>', 'NAME or NODE:NAME')
  .option('--json', 'machine-readable output')
  .action(async (guest: string, options: { json?: boolean }) => {
    const info = await withCluster(async (cluster) => guestInfo(await findGuest(cluster, guest)));
    if (options.json) printJson(format.infoJson(info));
    else print(format.formatInfo(info));
  });

program
  .command('on')
  .description('wake nodes up (wake-on-LAN magic packet to the configured MAC)')
  .argument('<nodes...>')
  .action(async (nodes: string[]) => {
    const cfg = config();
    for (const name of nodes) {
      const node = configuredNode(cfg, name);
      const sent = await wakeNode(node);
      print(`${name}: waking up ${sent.mac} (packet sent to ${sent.address}:${sent.port})\n`);
    }
  });

program
  .command('off')
  .description('power nodes off over ssh; refused while they run guests unless --force')
  .argument('<nodes...>')
  .option('--force', 'power off even when guests are running')
  .action(async (nodes: string[], options: { force?: boolean }) => {
    await withCluster(async (cluster) => {
      for (const name of nodes) {
        const result = await powerOffNode(cluster, name, options.force === true);
        print(
          `${name}: powering off${result.runningGuests.length > 0 ? ` (guests stopped hard: ${result.runningGuests.join(', ')})` : ''}\n`,
        );
      }
    }, nodes);
  });

for (const [name, start] of [
  ['boot', true],
  ['build', false],
] as const) {
  // The template's options, virt-customize style, kept in the order given (it matters:
  // --install then --run-command is not --run-command then --install).
  const customizations: string[] = [];
  const customization = (flag: string) => (value: string) => {
    customizations.push(flag, value);
    return value;
  };
  program
    .command(name)
    .description(
      start
        ? 'build a guest from a template, define it and start it'
        : 'build a guest from a template and define it, without starting it',
    )
    .argument('<template>', 'template name (see `mclu templates`)')
    .argument('<name>', 'NAME, or NODE:NAME to choose the node')
    .option('--size <size>', 'disk size, e.g. 20G (default: [defaults] size, else the template)')
    .option('--memory <size>', 'memory, e.g. 2G (default: [defaults] memory)')
    .option('--vcpus <n>', 'virtual cpus (default: [defaults] vcpus)')
    .option(
      '--install <pkg,...>',
      'install packages at build time (the template says if it can)',
      customization('--install'),
    )
    .option(
      '--run-command <cmd>',
      'run a command in the guest at build time',
      customization('--run-command'),
    )
    .option(
      '--firstboot-command <cmd>',
      "run a command at the guest's first boot",
      customization('--firstboot-command'),
    )
    .option(
      '--timezone <zone>',
      "the guest's time zone, e.g. Europe/London",
      customization('--timezone'),
    )
    .action(
      async (
        template: string,
        target: string,
        options: { size?: string; memory?: string; vcpus?: string },
      ) => {
        const request = {
          template,
          target,
          start,
          sizeBytes: sizeOption('size', options.size),
          memoryBytes: memoryOption(options.memory),
          vcpus: countOption('vcpus', options.vcpus, 4096),
          customizations,
        };
        checkGuestName(parseGuestSpec(target).name);
        const cfg = config();
        const bar = progressBar('upload');
        try {
          const result = await withInterrupts(async (control) => {
            const prepared = await prepareBoot(cfg, request, { onStep: note }, control);
            return withCluster(
              (cluster) =>
                bootGuest(
                  cluster,
                  prepared,
                  {
                    onStep: note,
                    onTemplateOutput: (line) => note(`  ${template}: ${line}`),
                    onUploadProgress: bar.update,
                  },
                  control,
                ),
              undefined,
              control.signal,
              cfg,
            );
          }, note);
          bar.stop();
          if (result.placed)
            print(`placed ${result.name} on ${result.node} (${result.placementReason ?? ''})\n`);
          print(format.formatBoot(result, start));
        } finally {
          bar.stop();
        }
      },
    );
}

program
  .command('import')
  .description(
    'convert a foreign guest (disk images, an OVA, libvirt XML) to run on KVM and bring it into the cluster',
  )
  .argument('<name>', 'NAME, or NODE:NAME to choose the node')
  .argument(
    '<source...>',
    'the disk images (-i disk), the OVA (-i ova) or the XML file (-i libvirtxml)',
  )
  .option('-i, --input <kind>', 'disk, ova or libvirtxml', 'disk')
  .option('--start', 'start the guest once it is imported')
  .option('--memory <size>', "memory, e.g. 2G (default: the source's)")
  .option('--vcpus <n>', "virtual cpus (default: the source's)")
  .action(
    async (
      target: string,
      sources: string[],
      options: { input: string; start?: boolean; memory?: string; vcpus?: string },
    ) => {
      if (!['disk', 'ova', 'libvirtxml'].includes(options.input))
        throw new UsageError(`-i ${options.input}: give disk, ova or libvirtxml`);
      const request = {
        target,
        sources,
        input: options.input as ImportInput,
        start: options.start ?? false,
        memoryBytes: memoryOption(options.memory),
        vcpus: countOption('vcpus', options.vcpus, 4096),
      };
      checkGuestName(parseGuestSpec(target).name);
      const cfg = config();
      const bar = progressBar('upload');
      try {
        const result = await withInterrupts(
          (control) =>
            withCluster(
              (cluster) =>
                importGuest(
                  cluster,
                  cfg,
                  request,
                  {
                    onStep: note,
                    onUploadProgress: (done, total) => bar.update(BigInt(done), BigInt(total)),
                  },
                  control,
                ),
              undefined,
              control.signal,
              cfg,
            ),
          note,
        );
        bar.stop();
        if (result.placed)
          print(`placed ${result.name} on ${result.node} (${result.placementReason ?? ''})\n`);
        for (const d of result.decisions) print(`  ${d}\n`);
        print(
          `imported ${result.name} on ${result.node} (${result.state}); ${(result.copiedBytes / 2 ** 20).toFixed(0)} MiB copied\n`,
        );
      } finally {
        bar.stop();
      }
    },
  );

for (const action of ['start', 'reboot', 'destroy'] as const satisfies readonly LifecycleAction[]) {
  const descriptions = {
    start: 'start a guest',
    reboot: 'reboot a guest',
    destroy: 'stop a guest at once (pull the plug); its disks are kept',
  };
  program
    .command(action)
    .description(descriptions[action])
    .argument('<guest>', 'NAME or NODE:NAME')
    .action(async (guest: string) => {
      const state = await withCluster(async (cluster) =>
        lifecycle(await findGuest(cluster, guest), action),
      );
      print(`${guest}: ${action} done; now ${state}\n`);
    });
}

program
  .command('shutdown')
  .description('ask a guest to shut down (ACPI power button); the guest decides')
  .argument('<guest>', 'NAME or NODE:NAME')
  .option('--wait <seconds>', 'wait until it is shut off, failing after this many seconds')
  .action(async (guest: string, options: { wait?: string }) => {
    const waitSeconds = countOption('wait', options.wait, 24 * 3600);
    await withCluster(async (cluster) => {
      const location = await findGuest(cluster, guest);
      await lifecycle(location, 'shutdown');
      if (waitSeconds === undefined) {
        print(`${guest}: shutdown requested\n`);
        return;
      }
      const state = await waitForState(location, 'shut off', waitSeconds * 1000);
      if (state !== 'shut off') {
        throw new OperationError(
          'OPERATION_FAILED',
          `${guest} is still ${state} ${waitSeconds} s after the shutdown request (the guest may ignore ACPI); \`mclu destroy ${guest}\` stops it at once`,
        );
      }
      print(`${guest}: shut off\n`);
    });
  });

program
  .command('delete')
  .description('undefine a guest and remove its disks')
  .argument('<guest>', 'NAME or NODE:NAME')
  .option('-y, --yes', 'do not ask for confirmation')
  .action(async (guest: string, options: { yes?: boolean }) => {
    await withCluster(async (cluster) => {
      const location = await findGuest(cluster, guest).catch(async (error: unknown) => {
        if (!(error instanceof McluError) || error.code !== 'UNKNOWN_GUEST') throw error;
        // No guest: perhaps the disk an interrupted boot left, under the same name.
        const spec = parseGuestSpec(guest);
        checkGuestName(spec.name);
        const lone = await findLoneVolumes(cluster, spec.name, spec.node);
        if (lone.length === 0) throw error;
        const list = lone.map((v) => `${v.path} on ${v.session.node.name}`).join(', ');
        if (!options.yes)
          await confirm(
            `no guest named ${spec.name}, but ${lone.length === 1 ? 'a volume' : 'volumes'} of its name that no guest uses (left by an interrupted boot or migration): ${list}. Remove ${lone.length === 1 ? 'it' : 'them'}?`,
          );
        for (const removed of await deleteLoneVolumes(lone)) print(`removed volume ${removed}\n`);
        return null;
      });
      if (location === null) return;
      if (!options.yes)
        await confirm(
          `delete ${location.domain.name} on ${location.session.node.name} and its disks?`,
        );
      const result = await deleteGuest(location, cluster.config.defaults.images);
      print(`deleted ${location.domain.name} from ${location.session.node.name}\n`);
      for (const disk of result.removedDisks) print(`  removed disk ${disk}\n`);
      for (const disk of result.absentDisks) print(`  (disk ${disk} was not there)\n`);
      for (const kept of result.keptDisks) note(`kept disk ${kept.path}: ${kept.reason}`);
    });
  });

async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY)
    throw new UsageError(
      `${question} Not asked: standard input is not a terminal; add --yes to confirm`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim()))
      throw new OperationError('OPERATION_FAILED', 'cancelled; nothing was deleted');
  } finally {
    rl.close();
  }
}

program
  .command('migrate')
  .description('move a guest to another node: live (disks copied) if running, offline if stopped')
  .argument('<guest>', 'NAME or NODE:NAME')
  .argument('<node>', 'target node')
  .action(async (guest: string, node: string) => {
    const bar = progressBar('migrate');
    try {
      const result = await withInterrupts(
        (control) =>
          withCluster(
            async (cluster) =>
              migrateGuest(
                cluster,
                await findGuest(cluster, guest),
                node,
                { onStep: note, onProgress: bar.update },
                control,
              ),
            undefined,
            control.signal,
          ),
        note,
      );
      bar.stop();
      print(format.formatMigrate(result));
    } finally {
      bar.stop();
    }
  });

program
  .command('console')
  .description('the serial console of a guest in this terminal (Ctrl-] leaves)')
  .argument('<guest>', 'NAME or NODE:NAME')
  .action(async (guest: string) => {
    await withCluster(async (cluster) => {
      const location = await findGuest(cluster, guest);
      const stream = await location.session.api.openConsole(location.domain, null, 0);
      note(`connected to ${location.domain.name} on ${location.session.node.name}; Ctrl-] leaves`);
      await bridgeConsole(stream, process.stdin, process.stdout);
    });
    // A pipe on stdin would keep the process alive after the console is left.
    process.stdin.destroy();
  });

program
  .command('viewer')
  .description('the graphical console of a guest (starts virt-viewer or remote-viewer)')
  .argument('<guest>', 'NAME or NODE:NAME')
  .action(async (guest: string) => {
    const command = await withCluster(async (cluster) => {
      const location = await findGuest(cluster, guest);
      const info = await guestInfo(location);
      const graphics = info.graphics.find((g) => g.port !== null && g.port !== '-1');
      const host = location.session.node.host.replace(/^.*@/, '');
      const display = graphics ? `${graphics.type}://${host}:${graphics.port}` : null;
      return viewerCommand(location.session.node.uri, location.domain.name, display);
    });
    process.exitCode = await runViewer(command);
  });

program
  .command('templates')
  .description('the templates found on the search path, with their answers')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const cfg = config();
    const found = findTemplates(templateSearchPath(cfg.defaults.templates));
    const answers = await Promise.all(
      found.map((t) =>
        queryTemplate(t, { timeoutMs: cfg.defaults.templateTimeouts.questionsMs }).catch(
          (e: unknown) => ({
            name: t.name,
            path: t.path,
            error: messageOf(e),
          }),
        ),
      ),
    );
    if (options.json) printJson(format.templatesJson(answers));
    else print(format.formatTemplates(answers));
  });

await runProgram(program, {
  label: 'error:',
  expected: (error) => error instanceof McluError,
  status: (error) =>
    error instanceof McluError && error.code === 'INTERRUPTED'
      ? interruptedStatus()
      : error instanceof UsageError
        ? ExitStatus.usage
        : undefined,
});
