// Running and type-checking what xdrgen writes, for the compiler's tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { type EmitOptions, compileXdr } from '../../src/xdrgen/index.js';

/** The codec library as the generated modules import it (the compiled one, by file URL). */
export const xdrModule = pathToFileURL(join(import.meta.dirname, '../../src/index.js')).href;

let loaded = 0;

/** Compiles a specification, transpiles the TypeScript into `dir` and imports the module. */
export async function loadGenerated(
  source: string,
  dir: string,
  options: EmitOptions & { file?: string } = {},
): Promise<{ code: string; module: Record<string, unknown> }> {
  const code = compileXdr(source, { xdrModule, ...options });
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, `generated-${process.pid}-${loaded++}.mjs`);
  writeFileSync(file, js);
  return { code, module: (await import(pathToFileURL(file).href)) as Record<string, unknown> };
}

/** Type-checks generated modules with the repository's strictest settings; the problems found. */
export function typeCheck(dir: string, files: Record<string, string>): string[] {
  const paths = Object.entries(files).map(([name, code]) => {
    const path = join(dir, name);
    writeFileSync(path, code.replace(xdrModule, '@tsvirt/xdr'));
    return path;
  });
  const program = ts.createProgram(paths, {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    baseUrl: dir,
    paths: { '@tsvirt/xdr': [join(import.meta.dirname, '../../src/index.d.ts')] },
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}
