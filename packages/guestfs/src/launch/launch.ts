/**
 * Boots the appliance under qemu with the guest's disks and connects to its daemon: the
 * channel is a unix socket in a private directory that we listen on and qemu connects to;
 * the serial console goes to a log (and its last lines into launch errors).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '@tsvirt/cli-kit';
import { GuestfsLaunchError } from '../errors.js';
import { Guestfs } from '../guestfs.js';
import { RpcSession } from '../rpc/session.js';
import { type AccelChoice, type AccelMode, chooseAccel } from './accel.js';
import { type Appliance, type DaemonChoice, findAppliance } from './appliance.js';
import { type Drive, driveArgs } from './drives.js';

export interface LaunchOptions {
  /** The guest's disks, in order: sda, sdb... in the appliance. */
  readonly drives: readonly Drive[];
  /** Appliance memory. Default 1280 MiB (as libguestfs on x86_64). */
  readonly memoryMiB?: number | undefined;
  /** Appliance vCPUs. Default 1. */
  readonly cpus?: number | undefined;
  /** 'auto' (default) uses KVM only where a probe boot shows it works. */
  readonly accel?: AccelMode | undefined;
  /** A fixed appliance directory (kernel, initrd, root). Default: supermin's build, cached. */
  readonly applianceDir?: string | undefined;
  /**
   * The daemon in the appliance: libguestfs's own (`c`, the default) or this package's
   * TypeScript one (`ts`; it implements a subset of the procedures, the others fail ENOTSUP).
   */
  readonly daemon?: DaemonChoice | undefined;
  /** A network interface for the appliance (qemu user networking), as libguestfs set_network. */
  readonly network?: boolean | undefined;
  /** Give up when the daemon has not said it is up after this long. Default 600 s (TCG is slow). */
  readonly launchTimeoutMs?: number | undefined;
  /** Also write the serial console to this file. */
  readonly consoleLog?: string | undefined;
  /** Called with each console line as it comes (`guestfs_verbose=1` adds the daemon's own). */
  readonly onConsole?: ((line: string) => void) | undefined;
  /** Boot the appliance with `guestfs_verbose=1`. */
  readonly verbose?: boolean | undefined;
  /** The qemu binary. Default qemu-system-x86_64. */
  readonly qemu?: string | undefined;
}

/** Lines of console kept for error messages. */
const CONSOLE_TAIL = 20;
/** Boots the appliance with these drives and returns a handle on its daemon. */
export async function launch(options: LaunchOptions): Promise<Guestfs> {
  if (options.drives.length === 0) {
    throw new GuestfsLaunchError('DRIVE', 'no drives: give at least one disk image to launch with');
  }
  const drives = options.drives.flatMap((d, i) => driveArgs(d, i)); // checks them before booting
  const appliance = await findAppliance(options.applianceDir, options.daemon);
  const qemuBinary = options.qemu ?? 'qemu-system-x86_64';
  const accel = await chooseAccel(options.accel ?? 'auto', appliance, qemuBinary);
  const work = mkdtempSync(join(tmpdir(), 'tsguestfs-'));
  const socketPath = join(work, 'guestfsd.sock');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });

  const console = new ConsoleLog(options.consoleLog, options.onConsole);
  const args = qemuArgs(options, appliance, accel, drives, socketPath);
  const qemu = spawn(qemuBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(qemu); // qemu must not outlive us
  qemu.stdout.on('data', (d: Buffer) => console.write(d));
  qemu.stderr.on('data', (d: Buffer) => console.write(d));
  const exited = new Promise<string>((resolve) => {
    qemu.once('error', (e) => resolve(`qemu could not be started: ${e.message}`));
    qemu.once('exit', (code, signal) => resolve(`qemu exited (${signal ?? `status ${code}`})`));
  });

  const cleanup = async (): Promise<void> => {
    server.close();
    await stopQemu(qemu, exited);
    console.close();
    rmSync(work, { recursive: true, force: true });
  };

  let session: RpcSession;
  try {
    session = await waitForDaemon(
      server,
      exited,
      options.launchTimeoutMs ?? 600_000,
      console,
      appliance,
      accel,
    );
  } catch (e) {
    await cleanup();
    throw e;
  }
  server.close();
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      session.close();
      await cleanup();
    })();
    return stopping;
  };
  // qemu dying (or the daemon closing the channel) ends the handle and its files.
  session.onClose(() => void shutdown());
  return Guestfs.fromCore({ session, shutdown, pid: qemu.pid });
}

function qemuArgs(
  options: LaunchOptions,
  appliance: Appliance,
  accel: AccelChoice,
  drives: string[],
  socketPath: string,
): string[] {
  const append = [
    'panic=1',
    'console=ttyS0',
    'edd=off',
    'udevtimeout=6000',
    'udev.event-timeout=6000',
    'no_timer_check',
    'printk.time=1',
    'cgroup_disable=memory',
    'usbcore.nousb',
    'cryptomgr.notests',
    'tsc=reliable',
    '8250.nr_uarts=1',
    `root=UUID=${appliance.rootUuid}`,
    'selinux=0',
    ...(options.verbose ? ['guestfs_verbose=1'] : []),
    ...(options.network ? ['guestfs_network=1'] : []),
    'TERM=xterm',
  ];
  return [
    ...['-global', 'virtio-blk-pci.scsi=off', '-no-user-config', '-nodefaults', '-display', 'none'],
    ...['-machine', `accel=${accel.accel},graphics=off`, '-cpu', 'max,la57=off'],
    ...['-m', String(options.memoryMiB ?? 1280), '-smp', String(options.cpus ?? 1), '-no-reboot'],
    ...['-rtc', 'driftfix=slew', '-no-hpet', '-global', 'kvm-pit.lost_tick_policy=discard'],
    ...['-kernel', appliance.kernel, '-initrd', appliance.initrd],
    ...[
      '-object',
      'rng-random,filename=/dev/urandom,id=rng0',
      '-device',
      'virtio-rng-pci,rng=rng0',
    ],
    ...['-device', 'virtio-scsi-pci,id=scsi'],
    ...drives,
    ...[
      '-drive',
      `file=${appliance.root.replace(/,/g, ',,')},snapshot=on,id=appliance,cache=unsafe,if=none,format=raw`,
    ],
    ...['-device', 'scsi-hd,drive=appliance'],
    ...['-device', 'virtio-serial-pci', '-serial', 'stdio'],
    ...['-chardev', `socket,path=${socketPath},id=channel0`],
    ...['-device', 'virtserialport,chardev=channel0,name=org.libguestfs.channel.0'],
    ...(options.network
      ? [
          '-netdev',
          'user,id=usernet,net=169.254.0.0/16',
          '-device',
          'virtio-net-pci,netdev=usernet',
        ]
      : []),
    ...['-append', append.join(' ')],
  ];
}

/** Accepts qemu's connection and waits for the daemon's launch flag, qemu's exit or the timeout. */
async function waitForDaemon(
  server: Server,
  exited: Promise<string>,
  timeoutMs: number,
  console: ConsoleLog,
  appliance: Appliance,
  accel: AccelChoice,
): Promise<RpcSession> {
  let timer: NodeJS.Timeout | undefined;
  let session: RpcSession | null = null;
  const what = `the appliance (${appliance.origin}; ${accel.accel.toUpperCase()}: ${accel.reason})`;
  const up = new Promise<RpcSession>((resolve, reject) => {
    server.once('connection', (socket: Socket) => {
      session = new RpcSession(socket, 'the appliance');
      session.waitForLaunch().then(
        () => resolve(session!),
        // The channel closed before the daemon was up: qemu is usually exiting; its exit
        // status (or this) is the better message.
        () =>
          void Promise.race([exited, sleep(2000, null)]).then((why) =>
            reject(
              new GuestfsLaunchError(
                'QEMU',
                `${what} failed to boot: ${typeof why === 'string' ? why : 'it closed its channel before the daemon started'}`,
                console.tail(),
              ),
            ),
          ),
      );
    });
  });
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GuestfsLaunchError(
            'TIMEOUT',
            `${what} did not start its daemon within ${Math.round(timeoutMs / 1000)} s`,
            console.tail(),
          ),
        ),
      timeoutMs,
    );
    void exited.then((why) =>
      reject(new GuestfsLaunchError('QEMU', `${what} failed to boot: ${why}`, console.tail())),
    );
  });
  try {
    return await Promise.race([up, failed]);
  } catch (e) {
    (session as RpcSession | null)?.close('launch failed');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once qemu has exited. */
async function stopQemu(qemu: ChildProcess, exited: Promise<string>): Promise<void> {
  if (qemu.exitCode !== null || qemu.signalCode !== null || qemu.pid === undefined) return;
  qemu.kill('SIGTERM');
  const grace = setTimeout(() => qemu.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(grace);
}

/** The serial console: to a file and a listener, its last lines kept for errors. */
class ConsoleLog {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly file: WriteStream | null;

  constructor(
    path: string | undefined,
    private readonly onLine: ((line: string) => void) | undefined,
  ) {
    this.file = path === undefined ? null : createWriteStream(path);
    this.file?.on('error', () => undefined);
  }

  write(data: Buffer): void {
    this.file?.write(data);
    const text = this.partial + data.toString('utf8');
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd();
      if (line === '') continue;
      this.lines.push(line);
      if (this.lines.length > CONSOLE_TAIL) this.lines.shift();
      this.onLine?.(line);
    }
  }

  tail(): string[] {
    return this.partial.trim() === '' ? [...this.lines] : [...this.lines, this.partial.trim()];
  }

  close(): void {
    this.file?.end();
  }
}
