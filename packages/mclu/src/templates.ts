// Templates: executables named NAME.template on a search path ([defaults] templates, then
// $MCLU_PATH). mclu asks a template questions by running it with one argument; exit status
// 2 means "I don't know that one" and mclu uses its default.
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

export function templateSearchPath(
  configured: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const fromEnv = (env['MCLU_PATH'] ?? '').split(':').filter((d) => d !== '');
  return [...configured, ...fromEnv];
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
 * Runs the template with one argument in a process group of its own (a build may start
 * qemu, virt-builder, guestfish...: the whole group is stopped on a timeout or an abort,
 * and when mclu exits). Resolves with its status and output, rejects with TemplateStopped.
 */
function runTemplate(
  template: Template,
  arg: string,
  env: NodeJS.ProcessEnv,
  options: TemplateRunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new TemplateStopped('aborted'));
      return;
    }
    const child = spawn(template.path, [arg], {
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
  arg: string,
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
    `\`${template.path} ${arg}\` did not finish within ${limit} (template_timeout.${key} in mclu.conf) and was stopped; raise [defaults] template_timeout = { ${key} = SECONDS } if it needs longer`,
  );
}

/** Runs one question or the build, refusing an untrusted template and turning a timeout
 *  or an abort into the error to report. */
async function run(
  template: Template,
  arg: string,
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
    return await runTemplate(template, arg, env, options);
  } catch (error) {
    if (error instanceof TemplateStopped)
      throw stoppedError(template, arg, error, options.timeoutMs, key);
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
  const result = await run(template, question, process.env, options, 'questions');
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
  const probe = await run(template, 'probe', process.env, options, 'questions');
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
}

/** Runs `TEMPLATE build` to write the guest's disk to `output`. */
export async function buildDisk(
  template: Template,
  request: BuildRequest,
  options: TemplateRunOptions,
): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    name: request.name,
    format: request.format,
    output: request.output,
    ...(request.baseImage === null ? {} : { base_image: request.baseImage }),
    ...(request.sizeBytes === null ? {} : { size: String(request.sizeBytes) }),
  };
  const result = await run(template, 'build', env, options, 'build');
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
