// Which accelerator the cluster's guests use: TCG (`<domain type='qemu'>`, always works) or
// KVM (`<domain type='kvm'>`, only where a probe boot of the test guest showed it works; on
// machines with nested virtualization a KVM guest can hang in early boot although /dev/kvm
// exists). The probe costs up to DEFAULT_PROBE_TIMEOUT_MS once per machine: its result is
// cached, keyed by the host's kernel release and qemu's version.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { ClusterError } from './errors.js';
import { probeKvm, type KvmProbeResult } from './kvm-probe.js';
import { CACHE_DIR } from './paths.js';

export type DomainType = 'kvm' | 'qemu';
/** tcg and kvm force one; probe (the default) uses KVM only where the probe boot worked. */
export type AccelMode = 'tcg' | 'kvm' | 'probe';
export const ACCEL_MODES: readonly AccelMode[] = ['tcg', 'kvm', 'probe'];
export const ACCEL_ENV = 'TSVIRT_CLUSTER_ACCEL';
export const KVM_PROBE_CACHE = join(CACHE_DIR, 'kvm-probe.json');

/** Bump when the probe changes in a way that makes earlier results meaningless. */
const PROBE_VERSION = 1;

export interface AccelChoice {
  domainType: DomainType;
  /** forced: by an option or the environment; probed: just now; cached: an earlier probe. */
  source: 'forced' | 'probed' | 'cached';
  /** Why, in one line, for people (printed by `up`, written into mclu.conf). */
  reason: string;
}

/** A mode and where it came from, for the reason of a forced choice. */
export interface AccelRequest {
  mode: AccelMode;
  from: string;
}

export function parseAccelMode(text: string, from: string): AccelMode {
  const mode = ACCEL_MODES.find((m) => m === text);
  if (mode === undefined) {
    throw new ClusterError(
      'BAD_OPTION',
      `bad accelerator "${text}" (${from}): use tcg, kvm or probe (the default: KVM only where a probe boot works)`,
    );
  }
  return mode;
}

/** The option if given, else the environment variable, else probe. */
export function accelRequest(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AccelRequest {
  if (option !== undefined) {
    const from = `the accel option (--accel ${option})`;
    return { mode: parseAccelMode(option, from), from };
  }
  const value = env[ACCEL_ENV];
  if (value !== undefined && value !== '') {
    const from = `${ACCEL_ENV}=${value}`;
    return { mode: parseAccelMode(value, from), from };
  }
  return { mode: 'probe', from: 'default' };
}

interface CachedProbe extends KvmProbeResult {
  key: string;
  probedAt: string;
}

/** What the probe's result depends on: the host kernel (its KVM) and qemu. */
export function probeKey(kernelRelease: string, qemuVersionOutput: string): string {
  const qemu = qemuVersionOutput.split('\n')[0]?.trim() ?? '';
  return `probe v${PROBE_VERSION}; kernel ${kernelRelease}; ${qemu}`;
}

let machineKey: string | null = null;
/** probeKey for this machine (qemu is asked once per process). */
export function machineProbeKey(): string {
  machineKey ??= probeKey(
    release(),
    execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }),
  );
  return machineKey;
}

/** The cached result for `key`, or null when there is none, it is for another kernel or
 *  qemu, or the file is unreadable (then the probe simply runs again). */
export function readCachedProbe(file: string, key: string): CachedProbe | null {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Partial<CachedProbe>;
    if (
      entry.key !== key ||
      typeof entry.works !== 'boolean' ||
      typeof entry.reason !== 'string' ||
      typeof entry.seconds !== 'number' ||
      typeof entry.probedAt !== 'string'
    )
      return null;
    return entry as CachedProbe;
  } catch {
    return null;
  }
}

/** Written under a temporary name and renamed, so a reader sees the old or the new file. */
function writeCachedProbe(file: string, entry: CachedProbe): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, JSON.stringify(entry, null, 2) + '\n');
  renameSync(temp, file);
}

const domainTypeOf = (works: boolean): DomainType => (works ? 'kvm' : 'qemu');

export interface ChooseAccelDeps {
  cacheFile: string;
  key: string;
  /** The real probe boot (probeKvm) or, in unit tests, a stand-in. */
  probe: () => Promise<KvmProbeResult>;
  now?: () => Date;
}

/** The decision: a forced mode wins; otherwise the cached probe for this key, else a new
 *  probe whose result is cached. */
export async function chooseAccel(
  request: AccelRequest,
  deps: ChooseAccelDeps,
): Promise<AccelChoice> {
  if (request.mode !== 'probe') {
    return {
      domainType: request.mode === 'kvm' ? 'kvm' : 'qemu',
      source: 'forced',
      reason: `forced by ${request.from}`,
    };
  }
  const cached = readCachedProbe(deps.cacheFile, deps.key);
  if (cached !== null) {
    return {
      domainType: domainTypeOf(cached.works),
      source: 'cached',
      reason: `KVM probe of ${cached.probedAt}, cached for this kernel and qemu: ${cached.reason}`,
    };
  }
  const result = await deps.probe();
  const probedAt = (deps.now?.() ?? new Date()).toISOString();
  writeCachedProbe(deps.cacheFile, { ...result, key: deps.key, probedAt });
  return {
    domainType: domainTypeOf(result.works),
    source: 'probed',
    reason: `KVM probe just now (${result.seconds.toFixed(1)} s, cached from now on): ${result.reason}`,
  };
}

/** chooseAccel on this machine, probing with the test guest image at `image`. */
export function decideAccel(request: AccelRequest, image: string): Promise<AccelChoice> {
  return chooseAccel(request, {
    cacheFile: KVM_PROBE_CACHE,
    key: request.mode === 'probe' ? machineProbeKey() : '',
    // The image path may be the symlink that a newer build repoints meanwhile.
    probe: () => probeKvm(realpathSync(image)),
  });
}

/** What the cluster's guests use on this machine, without probing: the forced mode if
 *  TSVIRT_CLUSTER_ACCEL says so, else the cached probe's answer, else TCG. The default of
 *  tinyGuestXml, so guests defined by tests follow the cluster. */
export function machineDomainType(env: NodeJS.ProcessEnv = process.env): DomainType {
  const request = accelRequest(undefined, env);
  if (request.mode !== 'probe') return request.mode === 'kvm' ? 'kvm' : 'qemu';
  try {
    const cached = readCachedProbe(KVM_PROBE_CACHE, machineProbeKey());
    return domainTypeOf(cached?.works ?? false);
  } catch {
    return 'qemu'; // no qemu to ask: nothing will run a guest anyway
  }
}

/** One line for people: what the guests run under and why. */
export function describeAccel(choice: AccelChoice): string {
  const what = choice.domainType === 'kvm' ? 'KVM' : 'TCG (software emulation)';
  return `guests run under ${what}, domain_type "${choice.domainType}": ${choice.reason}`;
}
