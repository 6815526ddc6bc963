#!/usr/bin/env node
// testcluster: bring a test cluster up or down, or show it. Thin: parses arguments, calls the
// library, prints.
import {
  createProgram,
  ExitStatus,
  InvalidArgumentError,
  packageVersion,
  runProgram,
} from '@tsvirt/cli-kit';
import { parseAccelMode, type AccelMode } from '../accel.js';
import { listClusters, openCluster, startCluster, stopCluster } from '../cluster.js';
import { ClusterError } from '../errors.js';
import { ensureGuestImage } from '../guest-image.js';
import { runWakeOnLanListener } from '../wol-listener.js';
import { describeCluster, nextSteps } from './usage.js';

const program = createProgram(
  'testcluster',
  'a real multi-node libvirt + sshd cluster on this machine, for the tests and the demo',
  packageVersion(import.meta.url),
);

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('needs a whole number');
  return Number(text);
}

/** --accel: commander reports the ClusterError's message as a bad option value. */
function accelMode(text: string): AccelMode {
  try {
    return parseAccelMode(text, '--accel');
  } catch (error) {
    if (error instanceof ClusterError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

const NAME = ['--name <name>', 'the cluster', 'default'] as const;

program
  .command('up')
  .summary('start a cluster (an earlier run of the same name is replaced)')
  .description(
    'Start N nodes plus N configured but off; node i at P(10+i), so node1 at 127.0.0.11 by\n' +
      'default; an earlier run of NAME is replaced. A magic packet to P1 port 9 (mclu on\n' +
      'NODE) powers a node on. Guests use KVM only where a probe boot works (once per\n' +
      'machine, up to 25 s), unless --accel or TSVIRT_CLUSTER_ACCEL forces tcg or kvm.',
  )
  .option('--nodes <n>', 'nodes that run', wholeNumber, 3)
  .option('--off <n>', 'nodes configured but off', wholeNumber, 0)
  .option(...NAME)
  .option('--address-prefix <prefix>', 'node addresses: the prefix and 10+i', '127.0.0.')
  .option('--no-wake-on-lan', 'no wake-on-LAN listener')
  .option(
    '--accel <mode>',
    'tcg, kvm, or probe (the default): KVM where a probe boot works',
    accelMode,
  )
  .action(
    async (options: {
      nodes: number;
      off: number;
      name: string;
      addressPrefix: string;
      wakeOnLan: boolean;
      accel?: AccelMode;
    }) => {
      const started = Date.now();
      const cluster = await startCluster({
        name: options.name,
        nodes: options.nodes,
        offNodes: options.off,
        addressPrefix: options.addressPrefix,
        wakeOnLan: options.wakeOnLan,
        ...(options.accel !== undefined && { accel: options.accel }),
      });
      console.log(`started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(describeCluster(cluster));
      console.log(nextSteps(cluster));
    },
  );

program
  .command('down')
  .description('stop the cluster and remove all its files')
  .option(...NAME)
  .action(async (options: { name: string }) => {
    await stopCluster(options.name);
    console.log(`cluster "${options.name}" is down; no process, mount or file of it is left`);
  });

program
  .command('status')
  .description('show the clusters (or the one named) and how to use them')
  .option('--name <name>', 'the cluster (default: every cluster on this machine)')
  .action((options: { name?: string }) => {
    const names = options.name === undefined ? listClusters() : [options.name];
    if (names.length === 0)
      console.log('no test cluster on this machine; start one with testcluster up');
    for (const name of names) {
      const cluster = openCluster(name);
      if (cluster === null) {
        console.log(`no cluster "${name}"; start it with testcluster up --name ${name}`);
        continue;
      }
      console.log(describeCluster(cluster));
      console.log(nextSteps(cluster));
    }
  });

program
  .command('image')
  .description('build the test guest image (cached) and print its path')
  .action(async () => {
    console.log(await ensureGuestImage());
  });

// Internal: started by `up` (see wake-on-lan.ts); runs until the cluster stops it.
program
  .command('wol-listener', { hidden: true })
  .requiredOption('--cluster-dir <dir>', 'the cluster directory')
  .action(async (options: { clusterDir: string }) => {
    await runWakeOnLanListener(options.clusterDir);
  });

await runProgram(program, {
  expected: (error) => error instanceof ClusterError,
  status: (error) =>
    error instanceof ClusterError && error.code === 'BAD_OPTION' ? ExitStatus.usage : undefined,
});
