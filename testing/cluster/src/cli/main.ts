#!/usr/bin/env node
// testcluster: bring a test cluster up or down, or show it. Thin: parses arguments, calls the
// library, prints.
import { parseArgs } from 'node:util';
import { parseAccelMode } from '../accel.js';
import { listClusters, openCluster, startCluster, stopCluster } from '../cluster.js';
import { ClusterError, messageOf } from '../errors.js';
import { ensureGuestImage } from '../guest-image.js';
import { runWakeOnLanListener } from '../wol-listener.js';
import { describeCluster, nextSteps } from './usage.js';

const USAGE = `usage:
  testcluster up [--nodes N] [--off N] [--name NAME] [--address-prefix P] [--no-wake-on-lan]
                 [--accel tcg|kvm|probe]
      start N nodes (default 3) plus N configured but off (default 0); node i at P(10+i),
      P defaults to 127.0.0. (node1 at 127.0.0.11); an earlier run of NAME is replaced;
      a magic packet to P1 port 9 (mclu on NODE) powers a node on; guests use KVM only
      where a probe boot works (once per machine, up to 25 s), unless --accel or
      TSVIRT_CLUSTER_ACCEL forces tcg or kvm
  testcluster down [--name NAME]     stop the cluster and remove all its files
  testcluster status [--name NAME]   show the clusters (or one) and how to use them
  testcluster image                  build the test guest image (cached) and print its path
options: --debug shows stack traces; NAME defaults to "default"`;

function integer(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text))
    throw new ClusterError('BAD_OPTION', `${option} needs a whole number, got "${text}"`);
  return Number(text);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      off: { type: 'string' },
      name: { type: 'string' },
      'address-prefix': { type: 'string' },
      debug: { type: 'boolean' },
      'no-wake-on-lan': { type: 'boolean' },
      'cluster-dir': { type: 'string' },
      accel: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    console.log(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  if (rest.length > 0)
    throw new ClusterError('BAD_OPTION', `unexpected argument "${rest.join(' ')}"\n${USAGE}`);
  const name = values.name ?? 'default';
  switch (command) {
    case 'up': {
      const started = Date.now();
      const cluster = await startCluster({
        name,
        nodes: integer(values.nodes, '--nodes', 3),
        offNodes: integer(values.off, '--off', 0),
        addressPrefix: values['address-prefix'] ?? '127.0.0.',
        wakeOnLan: values['no-wake-on-lan'] !== true,
        ...(values.accel !== undefined && { accel: parseAccelMode(values.accel, '--accel') }),
      });
      console.log(`started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(describeCluster(cluster));
      console.log(nextSteps(cluster));
      return 0;
    }
    case 'down':
      await stopCluster(name);
      console.log(`cluster "${name}" is down; no process, mount or file of it is left`);
      return 0;
    case 'status': {
      const names = values.name === undefined ? listClusters() : [name];
      if (names.length === 0)
        console.log('no test cluster on this machine; start one with testcluster up');
      for (const n of names) {
        const cluster = openCluster(n);
        if (cluster === null) {
          console.log(`no cluster "${n}"; start it with testcluster up --name ${n}`);
          continue;
        }
        console.log(describeCluster(cluster));
        console.log(nextSteps(cluster));
      }
      return 0;
    }
    case 'wol-listener': {
      // Internal: started by `up` (see wake-on-lan.ts); runs until the cluster stops it.
      const dir = values['cluster-dir'];
      if (dir === undefined)
        throw new ClusterError('BAD_OPTION', 'wol-listener needs --cluster-dir=DIR');
      await runWakeOnLanListener(dir);
      return 0;
    }
    case 'image':
      console.log(await ensureGuestImage());
      return 0;
    default:
      throw new ClusterError('BAD_OPTION', `unknown command "${command}"\n${USAGE}`);
  }
}

const debug = process.argv.includes('--debug');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (debug) console.error(error);
    else console.error(`testcluster: ${messageOf(error)}`);
    process.exitCode = error instanceof ClusterError && error.code === 'BAD_OPTION' ? 2 : 1;
  },
);
