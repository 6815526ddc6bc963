// Templates: executables named NAME.template on a search path ([defaults] templates, then
// $MCLU_PATH). mclu asks a template questions by running it with one argument; exit status
// 2 means "I don't know that one" and mclu uses its default.
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf, TemplateError } from './errors.js';

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

const QUERY_TIMEOUT_MS = 30_000;
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

function runTemplate(
  template: Template,
  arg: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      template.path,
      [arg],
      { env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({
          code,
          stdout,
          stderr: error !== null && code === -1 ? `${stderr}${error.message}` : stderr,
        });
      },
    );
  });
}

/** Asks one question; null when the template does not know it (exit status 2). */
async function query(template: Template, question: string): Promise<string | null> {
  const result = await runTemplate(template, question, process.env, QUERY_TIMEOUT_MS);
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
export async function queryTemplate(template: Template): Promise<TemplateAnswers> {
  const hello = await query(template, 'probe').catch(() => null);
  if (hello !== 'hello') {
    throw new TemplateError(
      'TEMPLATE_FAILED',
      template.name,
      `${template.path} is not a template: \`${template.path} probe\` must print "hello"`,
    );
  }
  const [baseImage, diskBus] = await Promise.all([
    query(template, 'base-image'),
    query(template, 'disk-bus'),
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
export async function buildDisk(template: Template, request: BuildRequest): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    name: request.name,
    format: request.format,
    output: request.output,
    ...(request.baseImage === null ? {} : { base_image: request.baseImage }),
    ...(request.sizeBytes === null ? {} : { size: String(request.sizeBytes) }),
  };
  const result = await runTemplate(template, 'build', env, 60 * 60_000).catch((error: unknown) => ({
    code: -1,
    stdout: '',
    stderr: messageOf(error),
  }));
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
