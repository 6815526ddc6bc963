// One run of `pgts generate` / `pgts check`: find the queries, describe each against the
// schema, and produce the declaration file or the list of problems.
import { messageOf } from '@tsvirt/cli-kit';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import fg from 'fast-glob';
import ts from 'typescript';
import { emitDeclarations } from './codegen/emit.js';
import { findQueries, type FoundQuery } from './codegen/find-queries.js';
import type { PgtsConfig } from './config.js';
import type { SchemaConnection } from './describe/connection.js';
import { ConfigError, DescribeError, SqlSyntaxError } from './errors.js';
import { QueryAnalyzer, type QueryShape } from './infer/analyze.js';
import { openSchema } from './schema.js';

export interface Problem {
  /** Relative to the project root. */
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface RunResult {
  problems: Problem[];
  queryCount: number;
  /** The declaration file's content (undefined when there are problems). */
  declarations: string | undefined;
  /** Whether the output file on disk differs from what this run produced. */
  outOfDate: boolean;
}

/** A project with its schema opened once (watch keeps it across runs). */
export class PgtsProject {
  private readonly shapes = new Map<string, QueryShape>();

  private constructor(
    readonly config: PgtsConfig,
    private readonly db: SchemaConnection,
    private readonly analyzer: QueryAnalyzer,
  ) {}

  static async open(config: PgtsConfig): Promise<PgtsProject> {
    const db = await openSchema(config.schema, config.root);
    return new PgtsProject(config, db, new QueryAnalyzer(db, config.types));
  }

  get schemaLabel(): string {
    return this.db.label;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Describes every query; writes the output when `write` and nothing is wrong. */
  async run(write: boolean): Promise<RunResult> {
    const { queries, problems: found } = findQueries(...this.program());
    const problems: Problem[] = found.map((p) => ({ ...p, file: this.rel(p.file) }));
    const shapes = new Map<string, QueryShape>();
    for (const query of queries) {
      if (shapes.has(query.sql)) continue;
      try {
        const shape = this.shapes.get(query.sql) ?? (await this.analyzer.analyze(query.sql));
        this.shapes.set(query.sql, shape);
        shapes.set(query.sql, shape);
      } catch (e) {
        problems.push(this.problem(query, e));
      }
    }
    const declarations =
      problems.length === 0
        ? emitDeclarations([...shapes.values()], this.config.module)
        : undefined;
    const current = existsSync(this.config.output)
      ? readFileSync(this.config.output, 'utf8')
      : undefined;
    const outOfDate = declarations !== undefined && current !== declarations;
    if (write && outOfDate && declarations !== undefined) {
      writeFileSync(this.config.output, declarations);
    }
    problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
    return { problems, queryCount: shapes.size, declarations, outOfDate };
  }

  /** Files to watch: the sources' directories. */
  watchRoots(): string[] {
    return [...new Set(this.sourceFiles().map((f) => dirname(f)))];
  }

  private sourceFiles(): string[] {
    return fg
      .sync(this.config.sources, {
        cwd: this.config.root,
        absolute: true,
        ignore: ['**/node_modules/**'],
      })
      .filter((f) => resolve(f) !== this.config.output)
      .sort();
  }

  private program(): [ts.Program, Set<string>] {
    const files = this.sourceFiles();
    let options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
    };
    const tsconfig = this.config.tsconfig;
    if (tsconfig !== undefined) {
      const parsed = ts.getParsedCommandLineOfConfigFile(
        tsconfig,
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: (d) => {
            throw new ConfigError(
              `${tsconfig}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
            );
          },
        },
      );
      if (parsed !== undefined) options = { ...parsed.options, noEmit: true, composite: false };
    }
    const program = ts.createProgram({ rootNames: files, options });
    return [program, new Set(files)];
  }

  private problem(query: FoundQuery, e: unknown): Problem {
    const offset = e instanceof DescribeError || e instanceof SqlSyntaxError ? (e.offset ?? 0) : 0;
    const { line, column } = query.locate(offset);
    const message = messageOf(e);
    return { file: this.rel(query.file), line, column, message };
  }

  private rel(file: string): string {
    return relative(this.config.root, file) || file;
  }
}
