// Templates: executables named NAME.template on a search path ([defaults] templates, then
// $MCLU_PATH, then the templates mclu ships). mclu asks a template questions by running it
// with one argument; exit status 2 means "I don't know that one" and mclu uses its default.
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messageOf, TemplateError } from './errors.js';
import { checkTrustedPath } from './trust.js';

export interface Template {
  name: string;
  path: string;
}

export interface TemplateAnswers {
  name: string;
  path: string;
  baseImage: string | null;
  diskBus: string;
}

const DEFAULT_DISK_BUS = 'virtio';

/** The templates that come with mclu (`debian-12`), searched last. */
export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

export function templateSearchPath(
  configured: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const fromEnv = (env['MCLU_PATH'] ?? '').split(':').filter((d) => d !== '');
  return [...configured, ...fromEnv, SHIPPED_TEMPLATES_DIR];
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Every template on the path; an earlier directory hides a later one of the same name. */
export function findTemplates(searchPath: readonly string[]): Template[] {
  const found = new Map<string, Template>();
  for (const dir of searchPath) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // a missing directory on a search path is not an error
    }
    for (const file of names.sort()) {
      if (!file.endsWith('.template')) continue;
      const name = file.slice(0, -'.template'.length);
      const path = join(dir, file);
      if (!found.has(name) && isExecutableFile(path)) found.set(name, { name, path });
    }
  }
  return [...found.values()];
}

export function findTemplate(searchPath: readonly string[], name: string): Template {
  const template = findTemplates(searchPath).find((t) => t.name === name);
  if (template === undefined) {
    const known = findTemplates(searchPath).map((t) => t.name);
    throw new TemplateError(
      'UNKNOWN_TEMPLATE',
      name,
      `no template ${JSON.stringify(name)}: no executable ${name}.template in ${searchPath.length > 0 ? searchPath.join(', ') : '(empty search path)'}` +
        (known.length > 0
          ? `; templates found: ${known.join(', ')}`
          : '; add a directory to [defaults] templates or to $MCLU_PATH'),
    );
  }
  return template;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TemplateRunOptions {
  /** Stop the template after this long (its whole process group). */
  timeoutMs: number;
  /** Stop it when this signal aborts (mclu interrupted). */
  signal?: AbortSignal | undefined;
  /** Each line the template writes on stderr, as it comes (a build's progress). */
  onStderrLine?: ((line: string) => void) | undefined;
}

/** Output kept per stream: the answers are short; of a build, the end is what tells why. */
const OUTPUT_KEPT = 64 * 1024;
const KILL_GRACE_MS = 2000;

/** Process groups of the templates running now, killed if mclu exits before they end. */
const running = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

function trackGroup(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const group of running) killGroup(group, 'SIGKILL');
  });
}

/** Why a template run ended early: too slow, or mclu interrupted. */
class TemplateStopped extends Error {
  constructor(readonly why: 'timeout' | 'aborted') {
    super(why);
  }
}

/**
 * Runs the template with its arguments (the question, and for `check` and `build` the
 * customisations) in a process group of its own (a build may start qemu, virt-builder,
 * guestfish...: the whole group is stopped on a timeout or an abort, and when mclu exits).
 * Resolves with its status and output, rejects with TemplateStopped.
 */
function runTemplate(
  template: Template,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: TemplateRunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new TemplateStopped('aborted'));
      return;
    }
    const child = spawn(template.path, args, {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].setEncoding('utf8');
      child[name].on('data', (text: string) => {
        output[name] = (output[name] + text).slice(-OUTPUT_KEPT);
      });
    }
    const onLine = options.onStderrLine;
    if (onLine !== undefined) {
      let partial = '';
      child.stderr.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') onLine(line);
      });
    }
    let stopped: TemplateStopped | null = null;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'aborted'): void => {
      if (stopped !== null || child.pid === undefined) return;
      stopped = new TemplateStopped(why);
      const pid = child.pid;
      killGroup(pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = (): void => stop('aborted');
    options.signal?.addEventListener('abort', onAbort);
    if (child.pid !== undefined) trackGroup(child.pid);
    const finish = (result: RunResult | Error): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) {
        // What the template left running in its group goes with it.
        killGroup(child.pid, 'SIGKILL');
        running.delete(child.pid);
      }
      clearTimeout(graceTimer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    child.once('error', (error) =>
      finish({ code: -1, stdout: '', stderr: `cannot run ${template.path}: ${error.message}` }),
    );
    child.once('exit', () => {
      // A grandchild that left the group could hold the pipes open: do not wait for it.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 500).unref();
    });
    child.once('close', (code, signal) => {
      if (stopped !== null) return finish(stopped);
      const killed = signal === null ? '' : `(killed by ${signal})`;
      finish({ code: code ?? -1, stdout: output.stdout, stderr: `${output.stderr}${killed}` });
    });
  });
}

function stoppedError(
  template: Template,
  question: string,
  error: TemplateStopped,
  timeoutMs: number,
  key: 'build' | 'questions',
): Error {
  if (error.why === 'aborted') return new DOMException('interrupted', 'AbortError');
  const limit =
    timeoutMs >= 120_000 ? `${Math.round(timeoutMs / 60_000)} min` : `${timeoutMs / 1000} s`;
  return new TemplateError(
    'TEMPLATE_FAILED',
    template.name,
    `\`${template.path} ${question}\` did not finish within ${limit} (template_timeout.${key} in mclu.conf) and was stopped; raise [defaults] template_timeout = { ${key} = SECONDS } if it needs longer`,
  );
}

/** Runs one question or the build, refusing an untrusted template and turning a timeout
 *  or an abort into the error to report. */
async function run(
  template: Template,
  [question, ...customizations]: [string, ...string[]],
  env: NodeJS.ProcessEnv,
  options: TemplateRunOptions,
  key: 'build' | 'questions',
): Promise<RunResult> {
  try {
    checkTrustedPath(template.path);
  } catch (error) {
    throw new TemplateError('TEMPLATE_FAILED', template.name, messageOf(error));
  }
  try {
    return await runTemplate(template, [question, ...customizations], env, options);
  } catch (error) {
    if (error instanceof TemplateStopped)
      throw stoppedError(template, question, error, options.timeoutMs, key);
    throw error;
  }
}

export const DEFAULT_QUESTION_TIMEOUT_MS = 30_000;

/** Asks one question; null when the template does not know it (exit status 2). */
async function query(
  template: Template,
  question: string,
  options: TemplateRunOptions,
): Promise<string | null> {
  const result = await run(template, [question], process.env, options, 'questions');
  if (result.code === 2) return null;
  if (result.code !== 0) {
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `${template.path} ${question} failed (status ${result.code}): ${lastLines(result.stderr)}`,
    );
  }
  return result.stdout.trim();
}

/** Probes the template and collects its answers. */
export async function queryTemplate(
  template: Template,
  options: TemplateRunOptions = { timeoutMs: DEFAULT_QUESTION_TIMEOUT_MS },
): Promise<TemplateAnswers> {
  const probe = await run(template, ['probe'], process.env, options, 'questions');
  if (probe.code !== 0 || probe.stdout.trim() !== 'hello') {
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `${template.path} is not a template: \`${template.path} probe\` must print "hello"` +
        (probe.code === 0
          ? ''
          : ` (it exited with status ${probe.code}: ${lastLines(probe.stderr)})`),
    );
  }
  const [baseImage, diskBus] = await Promise.all([
    query(template, 'base-image', options),
    query(template, 'disk-bus', options),
  ]);
  return {
    name: template.name,
    path: template.path,
    baseImage: baseImage || null,
    diskBus: diskBus || DEFAULT_DISK_BUS,
  };
}

export interface BuildRequest {
  name: string;
  format: string;
  output: string;
  sizeBytes: bigint | null;
  baseImage: string | null;
  /** The user's ssh public key (`ssh_key`), for templates that make guests one logs into. */
  sshKey: string | null;
  /** Options for the template, virt-customize style (`--install`, `PKG`...), in order. */
  customizations: readonly string[];
}

/** The build's environment, as the original mclu gave it (plus `ssh_key`). */
function buildEnv(request: Omit<BuildRequest, 'output'> & { output?: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    name: request.name,
    format: request.format,
    ...(request.output === undefined ? {} : { output: request.output }),
    ...(request.baseImage === null ? {} : { base_image: request.baseImage }),
    ...(request.sizeBytes === null ? {} : { size: String(request.sizeBytes) }),
    ...(request.sshKey === null ? {} : { ssh_key: request.sshKey }),
  };
}

/**
 * Asks the template whether it will build this (`TEMPLATE check [CUSTOMIZATIONS...]`, with
 * the build's environment but no `output`), before anything is asked of a node: it refuses
 * what it cannot do (a size, a name, an option it does not implement, a package mirror it
 * cannot reach) in its own words. A template that does not know `check` (exit status 2) takes
 * no customisations: they are refused rather than passed to a build that would ignore them.
 */
export async function checkBuild(
  template: Template,
  request: Omit<BuildRequest, 'output'>,
  options: TemplateRunOptions,
): Promise<void> {
  const result = await run(
    template,
    ['check', ...request.customizations],
    buildEnv(request),
    options,
    'questions',
  );
  if (result.code === 2) {
    if (request.customizations.length === 0) return;
    const given = request.customizations.filter((a) => a.startsWith('--'));
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `template ${template.name} takes no options such as ${[...new Set(given)].join(', ')}: it does not answer \`check\`, so they would be ignored; remove them`,
    );
  }
  if (result.code !== 0) {
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `template ${template.name} refuses this build: ${lastLines(result.stderr || result.stdout)}`,
    );
  }
}

/** Runs `TEMPLATE build [CUSTOMIZATIONS...]` to write the guest's disk to `output`. */
export async function buildDisk(
  template: Template,
  request: BuildRequest,
  options: TemplateRunOptions,
): Promise<void> {
  const result = await run(
    template,
    ['build', ...request.customizations],
    buildEnv(request),
    options,
    'build',
  );
  if (result.code !== 0) {
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `${template.path} build failed (status ${result.code}): ${lastLines(result.stderr || result.stdout)}`,
    );
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').slice(-5).join('\n');
  return lines === '' ? '(no message)' : lines;
}
