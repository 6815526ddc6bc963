#!/usr/bin/env node
// pgts generate | check | watch: thin layer over PgtsProject.
import { createProgram, messageOf, packageVersion, runProgram } from '@tsvirt/cli-kit';
import { watch } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { PgtsError } from '../errors.js';
import type { PgtsProject, RunResult } from '../project.js';

type Command = 'generate' | 'check' | 'watch';

const program = createProgram(
  'pgts',
  'describe the SQL in a TypeScript project against PostgreSQL and write the declarations that type it',
  packageVersion(import.meta.url),
).option('--config <file>', 'the configuration file', 'pgts.config.json');

const COMMANDS: Record<Command, string> = {
  generate: 'describe every query in the sources and write the declaration file',
  check: 'the same without writing; exit 1 on invalid SQL or an out-of-date output',
  watch: 'generate, then again whenever a source file changes',
};
for (const [command, description] of Object.entries(COMMANDS) as [Command, string][]) {
  program
    .command(command)
    .description(description)
    .action(async () => {
      process.exitCode = await run(command, program.opts<{ config: string }>().config);
    });
}

async function run(command: Command, configFile: string): Promise<number> {
  const config = loadConfig(resolve(configFile));
  // TypeScript's compiler and PostgreSQL's parser take most of a second to load (a minute
  // under qemu-user): loaded here, so that --help, --version and usage errors do not wait.
  const { PgtsProject } = await import('../project.js');
  const { parserRunsHere } = await import('../sql/parser.js');
  const project = await PgtsProject.open(config);
  if (!parserRunsHere()) {
    process.stderr.write(
      "pgts: note: PostgreSQL's parser (WebAssembly) does not run on this big-endian host, " +
        'so every result column is typed nullable unless the query marks it "col!"\n',
    );
  }
  if (command === 'watch') return await watchProject(project);
  try {
    const result = await project.run(command === 'generate');
    return report(project, result, command);
  } finally {
    await project.close();
  }
}

function report(project: PgtsProject, result: RunResult, command: Command): number {
  for (const p of result.problems) {
    process.stderr.write(`${p.file}:${p.line}:${p.column}: error: ${p.message}\n`);
  }
  if (result.problems.length > 0) {
    process.stderr.write(`pgts: ${result.problems.length} problem(s); nothing written\n`);
    return 1;
  }
  const output = project.config.output;
  if (command === 'check' && result.outOfDate) {
    process.stderr.write(`pgts: ${output} is out of date: run \`pgts generate\`\n`);
    return 1;
  }
  const described = `${result.queryCount} queries described against ${project.schemaLabel}`;
  const outcome =
    command === 'check'
      ? `${output} is up to date`
      : result.outOfDate
        ? `wrote ${output}`
        : `${output} unchanged`;
  process.stdout.write(`pgts: ${described}; ${outcome}\n`);
  return 0;
}

async function watchProject(project: PgtsProject): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const regenerate = (): void => {
    running = running.then(async () => {
      try {
        report(project, await project.run(true), 'generate');
      } catch (e) {
        process.stderr.write(`pgts: ${messageOf(e)}\n`);
      }
    });
  };
  regenerate();
  const watchers = project.watchRoots().map((dir) =>
    watch(dir, (_event, file) => {
      if (file === null || !/\.[cm]?tsx?$/.test(file) || file.endsWith('.d.ts')) return;
      clearTimeout(timer);
      timer = setTimeout(regenerate, 150);
    }),
  );
  process.stdout.write('pgts: watching for changes (Ctrl-C to stop)\n');
  await new Promise<void>((done) => process.once('SIGINT', done));
  watchers.forEach((w) => w.close());
  clearTimeout(timer);
  await running;
  await project.close();
  return 0;
}

await runProgram(program, { expected: (error) => error instanceof PgtsError });
