// Module hooks (node:module register) that let tsnbd load a plugin or filter written in
// TypeScript straight from its .ts file, on every Node >= 20.6: the file is transpiled to
// JavaScript as it loads. Types are not checked here; that is tsc's job in the plugin's own
// project, as with any TypeScript program run through a transpiling loader.
import { readFile } from 'node:fs/promises';
import type { LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const TYPESCRIPT_FILE = /\.m?ts$/;

function isTypeScript(url: string): boolean {
  return url.startsWith('file:') && TYPESCRIPT_FILE.test(new URL(url).pathname);
}

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    // TypeScript's NodeNext convention: a .ts file imports its sibling x.ts as './x.js'.
    const parent = context.parentURL;
    if (parent !== undefined && isTypeScript(parent) && /^\.\.?\/.*\.m?js$/.test(specifier)) {
      return nextResolve(specifier.replace(/js$/, 'ts'), context);
    }
    throw error;
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!isTypeScript(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { outputText, diagnostics = [] } = ts.transpileModule(await readFile(path, 'utf8'), {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  // Only syntax errors are reported here (no type checking); the first is enough to fix.
  const first = diagnostics[0];
  if (first !== undefined) throw new SyntaxError(describe(first));
  return { format: 'module', source: outputText, shortCircuit: true };
};

function describe(diagnostic: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${diagnostic.file.fileName}:${line + 1}:${character + 1}: ${message}`;
}
