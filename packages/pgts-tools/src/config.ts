// pgts.config.json: where the queries are, where the declarations go, where the schema
// comes from, and how types map. Paths are relative to the config file.
import { messageOf } from '@tsvirt/cli-kit';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import type { TypeMappingOptions } from './infer/ts-types.js';

export type SchemaSource =
  | { kind: 'schema'; file: string }
  | { kind: 'migrations'; dir: string }
  | { kind: 'database'; url: string | undefined };

export interface PgtsConfig {
  /** Directory of the config file; every path below is absolute. */
  root: string;
  sources: string[];
  output: string;
  tsconfig: string | undefined;
  schema: SchemaSource;
  /** The module whose `Queries` interface the output augments. */
  module: string;
  types: TypeMappingOptions;
}

const KEYS = new Set([
  'sources',
  'output',
  'tsconfig',
  'schema',
  'migrations',
  'database',
  'module',
  'int8',
  'date',
  'types',
  'columns',
]);

export function loadConfig(path: string): PgtsConfig {
  if (!existsSync(path)) {
    throw new ConfigError(`${path} not found: create it (see the pgts README) or pass --config`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON: ${messageOf(e)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${path}: must hold a JSON object`);
  }
  return parseConfig(raw as Record<string, unknown>, dirname(resolve(path)), path);
}

export function parseConfig(raw: Record<string, unknown>, root: string, where: string): PgtsConfig {
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) {
      throw new ConfigError(`${where}: unknown key "${key}"; known keys: ${[...KEYS].join(', ')}`);
    }
  }
  const strings = (key: string): string[] | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new ConfigError(`${where}: "${key}" must be an array of strings`);
    }
    return value;
  };
  const string = (key: string): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new ConfigError(`${where}: "${key}" must be a string`);
    return value;
  };
  const record = (key: string): Record<string, string> => {
    const value = raw[key] ?? {};
    if (
      typeof value !== 'object' ||
      value === null ||
      Object.values(value).some((v) => typeof v !== 'string')
    ) {
      throw new ConfigError(`${where}: "${key}" must map names to TypeScript type text`);
    }
    return value as Record<string, string>;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = string(key) ?? fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(`${where}: "${key}" must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  };

  const sourcesOf = ['schema', 'migrations', 'database'].filter((k) => raw[k] !== undefined);
  if (sourcesOf.length !== 1) {
    throw new ConfigError(
      `${where}: give exactly one of "schema" (a SQL file), "migrations" (a directory of ` +
        `.sql files applied in name order) or "database" ("env" for DATABASE_URL/PG* variables)`,
    );
  }
  let schema: SchemaSource;
  const schemaFile = string('schema');
  const migrations = string('migrations');
  const database = string('database');
  if (schemaFile !== undefined) schema = { kind: 'schema', file: resolve(root, schemaFile) };
  else if (migrations !== undefined)
    schema = { kind: 'migrations', dir: resolve(root, migrations) };
  else schema = { kind: 'database', url: database === 'env' ? undefined : database };

  const tsconfig =
    string('tsconfig') ??
    (existsSync(resolve(root, 'tsconfig.json')) ? 'tsconfig.json' : undefined);
  return {
    root,
    sources: strings('sources') ?? ['src/**/*.ts'],
    output: resolve(root, string('output') ?? 'src/pgts.generated.d.ts'),
    tsconfig: tsconfig === undefined ? undefined : resolve(root, tsconfig),
    schema,
    module: string('module') ?? '@tsvirt/pgts',
    types: {
      int8: oneOf('int8', ['string', 'bigint', 'number'] as const, 'string'),
      date: oneOf('date', ['string', 'Date'] as const, 'string'),
      types: record('types'),
      columns: record('columns'),
    },
  };
}
