#!/usr/bin/env node
/**
 * guestfsd in TypeScript: the libguestfs daemon's protocol, served from the appliance's
 * virtio-serial port (or, with --listen, from a unix socket on a host, for tests). Takes
 * guestfsd's own options, so the appliance's /init starts it as it starts the C daemon.
 *
 *   guestfsd [--channel PATH] [--listen] [--sysroot DIR] [--verbose] [--network]
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { utf8Bytes } from './bytes.js';
import type { Channel } from './connection.js';
import { Sysroot } from './guest-path.js';
import { UMASK } from './open-file.js';
import { handlers } from './procedures/index.js';
import { log, run } from './run.js';
import { listenOnce, openPort, serve } from './server.js';

const VIRTIO_SERIAL_CHANNEL = '/dev/virtio-ports/org.libguestfs.channel.0';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      channel: { type: 'string', short: 'c' },
      listen: { type: 'boolean', short: 'l', default: false },
      sysroot: { type: 'string', default: '/sysroot' },
      network: { type: 'boolean', short: 'n', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
  });
  log.verbose = values.verbose;
  log.uptime('started (Node.js and the modules loaded)');
  // After /init the environment is nearly empty; guestfsd sets these.
  process.env['PATH'] ??= '/sbin:/usr/sbin:/bin:/usr/bin';
  process.env['SHELL'] = '/bin/sh';
  process.env['LC_ALL'] = 'C';
  process.env['TERM'] = 'dumb';
  process.umask(UMASK);

  mkdirSync(values.sysroot, { recursive: true, mode: 0o755 }); // guestfsd creates it too
  const channelPath = values.channel ?? VIRTIO_SERIAL_CHANNEL;
  let channel: Channel;
  if (values.listen) {
    channel = await listenOnce(channelPath);
  } else {
    channel = await openPort(channelPath);
    // Wait for udev to create the disks' device nodes before saying the daemon is up.
    await run('udevadm', ['settle']).catch(() => undefined);
  }
  await serve(
    channel,
    {
      sysroot: new Sysroot(utf8Bytes(realpathSync(values.sysroot))),
      network: values.network,
      // Serving a host directory (tests): its mounts belong to the caller.
      autosyncUmount: !values.listen,
    },
    handlers,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`guestfsd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
