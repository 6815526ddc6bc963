/**
 * The whole conversion, in virt-v2v's order (the seed's article: do the risky work first and
 * fail early, leave the big copy for last):
 *
 * 1. the input module reads the source's metadata and locates its disks;
 * 2. each disk is served behind a copy-on-write overlay on a private unix socket (the source
 *    is only ever read);
 * 3. the output checks it can take the guest (name free, directory or pool there);
 * 4. the appliance boots on the overlays; inspection and every check that can refuse
 *    (no OS, several roots, not installed, corrupt filesystem, too little space);
 * 5. the guest is converted (convert/linux.ts), every decision reported;
 * 6. each filesystem is mounted with discard and trimmed: free space becomes holes in the
 *    overlay, so that the copy skips it;
 * 7. the appliance is shut down, then each overlay is copied to the target, holes and zeroes
 *    skipped; 8. the target's metadata is written last.
 *
 * `dryRun` stops after step 5's decisions: nothing is written anywhere (the overlays are
 * thrown away) and the plan says what a real run would do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Guestfs, GuestfsError, launch } from '@tsvirt/guestfs';
import { NbdClient, parseNbdUri } from '@tsvirt/nbd';
import type { LinuxConversion } from './convert/linux.js';
import { convertLinux } from './convert/linux.js';
import { dataExtents } from './data-extents.js';
import { V2vError, messageOf } from './errors.js';
import { type InspectedGuest, type RootChoice, inspectSource } from './inspect-source.js';
import { type NbdServerProcess, serveSourceOverlay } from './nbd-servers.js';
import type { CopyStats, Output } from './output/output.js';
import type { SourceGuest } from './source.js';

export interface ConvertOptions {
  /** Reads the source (after the work directory exists: -i libvirt fetches disks into it). */
  readonly source: (workDir: string) => Promise<SourceGuest>;
  /** Makes the output (it may use the work directory for sockets). */
  readonly output: (workDir: string) => Output;
  /** -on: the target's name (default: the source's). */
  readonly name?: string | undefined;
  readonly root?: RootChoice | undefined;
  readonly keepSerialConsole?: boolean | undefined;
  readonly noFstrim?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
  /** Appliance memory (MiB) and vCPUs: default 2048 and min(4, host CPUs). */
  readonly applianceMemoryMiB?: number | undefined;
  readonly applianceCpus?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly events?: ConvertEvents | undefined;
}

export interface ConvertEvents {
  /** A stage begins ("Inspecting the source"), as virt-v2v's timestamped messages. */
  onStage?: ((text: string) => void) | undefined;
  /** A finer step, a decision or a warning. */
  onInfo?: ((text: string) => void) | undefined;
  onWarning?: ((text: string) => void) | undefined;
  /** The appliance's console (for -v). */
  onConsole?: ((line: string) => void) | undefined;
  onCopyProgress?: ((disk: number, done: number, total: number) => void) | undefined;
}

export interface ConversionPlan {
  readonly source: SourceGuest;
  readonly name: string;
  readonly inspection: InspectedGuest;
  readonly conversion: LinuxConversion;
  readonly output: string;
  readonly targets: readonly string[];
  /** Per disk: bytes the copy will read (data in the overlay, after fstrim when not dry). */
  readonly dataBytes: readonly number[];
}

export interface ConversionResult {
  readonly plan: ConversionPlan;
  readonly copied: readonly CopyStats[];
  /** Where the metadata went (a file, a domain); null for a dry run. */
  readonly metadata: string | null;
  readonly dryRun: boolean;
}

/** Bytes of data (not hole or zero) in an NBD export, from block status. */
async function dataBytesOf(uri: string): Promise<number> {
  const client = await NbdClient.connect(parseNbdUri(uri));
  try {
    let data = 0;
    for await (const e of dataExtents(client)) data += e.length;
    return data;
  } finally {
    await client.close();
  }
}

async function exportSize(uri: string): Promise<number> {
  const client = await NbdClient.connect(parseNbdUri(uri));
  try {
    return client.size;
  } finally {
    await client.close();
  }
}

/** Mounts each filesystem with discard and trims it: free blocks become overlay holes. */
async function fstrimAll(g: Guestfs, warn: (text: string) => void): Promise<void> {
  for (const [device, type] of Object.entries(await g.listFilesystems())) {
    if (type === 'unknown' || type === 'swap') continue;
    await g.umountAll();
    try {
      await g.mountOptions('discard', device, '/');
    } catch (e) {
      if (e instanceof GuestfsError) continue;
      throw e;
    }
    try {
      await g.fstrim('/');
    } catch (e) {
      if (!(e instanceof GuestfsError)) throw e;
      warn(
        `fstrim of ${device} failed (the copy will be larger, nothing else changes): ${e.message}`,
      );
    }
  }
  await g.umountAll();
}

export async function convert(options: ConvertOptions): Promise<ConversionResult> {
  const events = options.events ?? {};
  const stage = (text: string) => {
    options.signal?.throwIfAborted();
    events.onStage?.(text);
  };
  const workDir = mkdtempSync(join(tmpdir(), 'tsv2v-'));
  const overlays: NbdServerProcess[] = [];
  let g: Guestfs | null = null;
  let output: Output | null = null;
  let writing = false;
  // An interruption stops whatever runs now: the appliance is killed (its pending call
  // fails) and the overlays stopped (a copy reading them fails); the catch below then
  // removes what the output made.
  const onAbort = (): void => {
    if (g?.appliancePid) process.kill(g.appliancePid, 'SIGKILL');
    for (const o of overlays) void o.stop();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    stage('Setting up the source');
    const source = await options.source(workDir);
    const name = options.name ?? source.name;
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$/.test(name))
      throw new V2vError(
        'USAGE',
        `"${name}" cannot be a guest name: 1 to 63 letters, digits, ".", "_", "+" or "-" (-on NAME)`,
      );
    for (const [i, disk] of source.disks.entries())
      overlays.push(await serveSourceOverlay(disk.location, workDir, i));
    const sizes = await Promise.all(overlays.map((o) => exportSize(o.uri)));

    output = options.output(workDir);
    await output.prepare(
      name,
      sizes.map((size) => ({ size })),
    );

    stage('Opening the source');
    g = await launch({
      drives: overlays.map((o) => ({
        source: o.uri,
        format: 'raw',
        discard: true,
        cacheMode: 'unsafe',
      })),
      memoryMiB: options.applianceMemoryMiB ?? 2048,
      cpus: options.applianceCpus ?? Math.min(4, availableParallelism()),
      onConsole: events.onConsole,
      verbose: events.onConsole !== undefined,
    });

    stage('Inspecting the source');
    const inspection = await inspectSource(g, {
      root: options.root ?? 'single',
      firmware: source.firmware,
    });
    for (const c of inspection.filesystemChecks)
      events.onInfo?.(`filesystem ${c.device} (${c.type ?? '?'}): ${c.result}`);
    stage('Checking for sufficient free disk space in the guest');
    for (const s of inspection.space)
      events.onInfo?.(
        `${s.mountpoint} (${s.device}): ${(s.freeBytes / 2 ** 20).toFixed(0)} MiB free, ${s.neededBytes / 2 ** 20} MiB needed`,
      );
    events.onInfo?.(`firmware: ${inspection.firmware} (${inspection.firmwareReason})`);

    const os = inspection.os;
    if (os.type !== 'linux')
      throw new V2vError(
        'UNSUPPORTED_GUEST',
        `cannot convert ${os.productName}: only Linux guests are converted (${os.type} is out of scope, see the README)`,
      );
    stage(
      `${options.dryRun ? 'Planning the conversion of' : 'Converting'} ${os.productName} to run on KVM`,
    );
    const conversion = await convertLinux(g, os, {
      controllers: source.disks.map((d) => d.controller),
      firmware: inspection.firmware,
      keepSerialConsole: options.keepSerialConsole ?? false,
      dryRun: options.dryRun ?? false,
      onStep: (text) => events.onInfo?.(text),
    });
    for (const w of conversion.warnings) events.onWarning?.(w);

    const targets = output
      .targets(name, overlays.length)
      .map((t) => (t.kind === 'file' ? t.path : `${t.pool}/${t.volume}`));
    const planWith = (dataBytes: number[]): ConversionPlan => ({
      source,
      name,
      inspection,
      conversion,
      output: output!.description,
      targets,
      dataBytes,
    });
    if (options.dryRun) {
      await g.close();
      g = null;
      const dataBytes = await Promise.all(overlays.map((o) => dataBytesOf(o.uri)));
      return {
        plan: planWith(dataBytes),
        copied: [],
        metadata: null,
        dryRun: true,
      };
    }

    await g.umountAll();
    if (!options.noFstrim) {
      stage('Mapping filesystem data to avoid copying unused and blank areas');
      await fstrimAll(g, (w) => events.onWarning?.(w));
    }
    stage('Closing the overlay');
    await g.close();
    g = null;
    const dataBytes = await Promise.all(overlays.map((o) => dataBytesOf(o.uri)));

    stage(`Setting up the destination: ${output.description}`);
    writing = true;
    const copied: CopyStats[] = [];
    for (const [i, overlay] of overlays.entries()) {
      stage(`Copying disk ${i + 1}/${overlays.length}`);
      copied.push(
        await output.writeDisk(
          name,
          { index: i, size: sizes[i]!, uri: overlay.uri },
          (done, total) => events.onCopyProgress?.(i, done, total),
        ),
      );
    }
    stage('Creating output metadata');
    const metadata = await output.finish(
      {
        name,
        memoryBytes: source.memoryBytes,
        vcpus: source.vcpus,
        firmware: inspection.firmware,
        guestcaps: conversion.guestcaps,
        os,
        nics: source.nics,
        graphics: source.hypervisor === 'disk' ? 'sdl' : 'vnc',
        generator: 'tsv2v',
      },
      overlays.length,
    );
    writing = false;
    stage('Finishing off');
    return {
      plan: planWith(dataBytes),
      copied,
      metadata,
      dryRun: false,
    };
  } catch (e) {
    if (writing) await output?.abandon().catch(() => undefined);
    if (options.signal?.aborted)
      throw new V2vError(
        'INTERRUPTED',
        `interrupted${writing ? '; the partial target was removed' : '; nothing was written'}`,
        { cause: e },
      );
    if (e instanceof V2vError) throw e;
    throw new V2vError('CONVERSION', messageOf(e), { cause: e });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await output?.close?.().catch(() => undefined);
    await g?.close().catch(() => undefined);
    for (const o of overlays) await o.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
