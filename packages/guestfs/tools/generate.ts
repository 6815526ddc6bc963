/**
 * Writes the generated protocol layer of @tsvirt/guestfs from libguestfs's own definitions:
 *
 *   node dist/tools/generate.js --source LIBGUESTFS_SRC --actions ACTIONS_JSON
 *
 * - `src/protocol/xdr.generated.ts`: `common/protocol/guestfs_protocol.x` compiled by
 *   @tsvirt/xdr's xdrgen (every struct, the argument and return structs, the constants).
 * - `src/protocol/procedures.generated.ts`: the procedure table (number, codecs, optional
 *   arguments, FileIn/FileOut, progress, cancellable) and a typed method per procedure.
 *
 * ACTIONS_JSON is upstream's action table as printed by scripts/dump_actions.ml (see
 * scripts/generate-protocol.sh, which runs everything). The two inputs are checked against
 * each other: every argument struct in the .x must hold exactly the action's arguments
 * (without FileIn/FileOut) followed by its optional arguments, in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format } from 'prettier';
import type { Declaration, Definition } from '@tsvirt/xdr/xdrgen';
import { emitTypeScript, parseXdr, pascalCase } from '@tsvirt/xdr/xdrgen';

interface Arg {
  type: 'Bool' | 'Int' | 'Int64' | 'String' | 'OptString' | 'StringList' | 'BufferIn' | 'Pointer';
  kind?: string;
  name: string;
}
interface OptArg {
  type: 'OBool' | 'OInt' | 'OInt64' | 'OString' | 'OStringList';
  name: string;
}
interface Ret {
  type: string;
  struct?: string;
}
interface Action {
  name: string;
  proc_nr: number | null;
  added: string;
  ret: Ret;
  args: Arg[];
  optargs: OptArg[];
  visibility: string;
  deprecated_by: string | null;
  optional: string | null;
  progress: boolean;
  cancellable: boolean;
  shortdesc: string;
}

/**
 * Daemon procedures without a typed method of their own, and why. They stay in the procedure
 * table.
 */
const NO_METHOD: Readonly<Record<string, string>> = {
  write_file: 'deprecated (use write); its name is the library-side writeFile wrapper',
};

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    actions: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, '../../src/protocol') },
    version: { type: 'string' },
  },
});
if (!values.source || !values.actions || !values.version) {
  console.error(
    'usage: generate.js --source LIBGUESTFS_SRC --actions ACTIONS_JSON --version VERSION',
  );
  process.exit(2);
}
const origin = `libguestfs ${values.version} (Debian source package)`;

const xFile = join(values.source, 'common/protocol/guestfs_protocol.x');
const spec = parseXdr(readFileSync(xFile, 'utf8'), xFile);
const actions = (JSON.parse(readFileSync(values.actions, 'utf8')) as Action[])
  .filter((a) => a.proc_nr !== null)
  .sort((a, b) => a.name.localeCompare(b.name));

const structs = new Map<string, Definition & { kind: 'struct' }>();
for (const d of spec.definitions) if (d.kind === 'struct') structs.set(d.name, d);
const typeName = (xdrName: string): string => pascalCase(xdrName);
const codecName = (xdrName: string): string => {
  const t = typeName(xdrName);
  return t[0]!.toLowerCase() + t.slice(1);
};

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A parameter name: camelCase, and not a word strict mode reserves. */
function parameter(name: string): string {
  const p = camel(name);
  return p === 'arguments' || p === 'eval' ? 'argv' : p;
}

function fieldName(d: Declaration): string {
  if (d.kind === 'void') throw new Error('void field');
  return d.name;
}

const isFileArg = (a: Arg): boolean => a.kind === 'FileIn' || a.kind === 'FileOut';

/** Checks the .x against the action table, so that a mismatch stops the generator. */
function check(a: Action): void {
  const args = structs.get(`guestfs_${a.name}_args`);
  const expected = [
    ...a.args.filter((x) => !isFileArg(x)).map((x) => x.name),
    ...a.optargs.map((o) => o.name),
  ];
  const found = args ? args.fields.map(fieldName) : [];
  if (expected.join(',') !== found.join(',')) {
    throw new Error(
      `${a.name}: guestfs_${a.name}_args has [${found.join(', ')}], the action table says [${expected.join(', ')}]`,
    );
  }
  const ret = structs.get(`guestfs_${a.name}_ret`);
  if ((a.ret.type === 'RErr') !== (ret === undefined) || (ret && ret.fields.length !== 1)) {
    throw new Error(`${a.name}: return struct does not match ${a.ret.type}`);
  }
  const enumMember = `GUESTFS_PROC_${a.name.toUpperCase()}`;
  const procEnum = spec.definitions.find((d) => d.name === 'guestfs_procedure');
  const member =
    procEnum?.kind === 'enum' ? procEnum.members.find((m) => m.name === enumMember) : undefined;
  if (member?.value.kind !== 'number' || member.value.value !== a.proc_nr) {
    throw new Error(`${a.name}: procedure number ${a.proc_nr} is not ${enumMember} in the .x`);
  }
}

const ARG_TYPE: Readonly<Record<Arg['type'], string>> = {
  Bool: 'boolean',
  Int: 'number',
  Int64: 'bigint | number',
  String: 'string',
  OptString: 'string | null',
  StringList: 'readonly string[]',
  BufferIn: 'Uint8Array',
  Pointer: 'never',
};
const OPTARG: Readonly<Record<OptArg['type'], { type: string; default: string }>> = {
  OBool: { type: 'boolean', default: 'false' },
  OInt: { type: 'number', default: '0' },
  OInt64: { type: 'bigint | number', default: '0n' },
  OString: { type: 'string', default: "''" },
  OStringList: { type: 'readonly string[]', default: '[]' },
};

function resultKind(a: Action): string {
  switch (a.ret.type) {
    case 'RErr':
      return `{ kind: 'void' }`;
    case 'RHashtable':
      return `{ kind: 'hashtable', field: '${retField(a)}' }`;
    default:
      return `{ kind: 'field', field: '${retField(a)}' }`;
  }
}

function retField(a: Action): string {
  return fieldName(structs.get(`guestfs_${a.name}_ret`)!.fields[0]!);
}

const SIMPLE_RETURN: Readonly<Record<string, string>> = {
  RErr: 'void',
  RBool: 'boolean',
  RInt: 'number',
  RInt64: 'bigint',
  RString: 'string',
  RStringList: 'string[]',
  RHashtable: 'Record<string, string>',
  RBufferOut: 'Uint8Array',
};

function returnType(a: Action): string {
  const simple = SIMPLE_RETURN[a.ret.type];
  if (simple !== undefined) return simple;
  // RStruct, RStructList: the struct type the return struct's one field holds.
  const field = structs.get(`guestfs_${a.name}_ret`)!.fields[0]!;
  if (field.kind === 'plain' && field.type.kind === 'named')
    return `x.${typeName(field.type.name)}`;
  if (field.kind === 'varArray' && field.type.kind === 'named') {
    return `x.${typeName(field.type.name)}[]`;
  }
  throw new Error(`${a.name}: unexpected return field for ${a.ret.type}`);
}

function doc(a: Action): string {
  const lines = [`${a.shortdesc} (\`${a.name}\`, procedure ${a.proc_nr}, since ${a.added}).`];
  if (a.deprecated_by !== null) {
    lines.push(
      `@deprecated ${a.deprecated_by === '' ? 'with no replacement' : `use ${camel(a.deprecated_by)}`}`,
    );
  }
  if (a.optional !== null) lines.push(`Needs the optional feature group \`${a.optional}\`.`);
  if (a.visibility === 'internal' || a.visibility === 'debug') {
    lines.push(`Internal to libguestfs (${a.visibility}): not a stable interface.`);
  }
  return `/**\n${lines.map((l) => `   * ${l.replace(/\*\//g, '*\\/')}`).join('\n')}\n   */`;
}

/**
 * The string arguments whose kind tells the daemon how to check them (Pathname, Device...),
 * as `name: 'Kind'` or `name: 'Kind[]'` for a list; plain strings and files are left out.
 */
function stringArgs(a: Action): string {
  const kinds = a.args
    .filter((x) => x.kind !== undefined && x.kind !== 'PlainString' && !isFileArg(x))
    .map((x) => `${x.name}: '${x.kind}${x.type === 'StringList' ? '[]' : ''}'`);
  return `{ ${kinds.join(', ')} }`;
}

function tableEntry(a: Action): string {
  const hasArgs = structs.has(`guestfs_${a.name}_args`);
  const hasRet = structs.has(`guestfs_${a.name}_ret`);
  const defaults = a.optargs.map((o) => `${o.name}: ${OPTARG[o.type].default}`).join(', ');
  return `  ${a.name}: {
    name: '${a.name}',
    number: ${a.proc_nr},
    args: ${hasArgs ? `x.${codecName(`guestfs_${a.name}_args`)}` : 'null'},
    ret: ${hasRet ? `x.${codecName(`guestfs_${a.name}_ret`)}` : 'null'},
    result: ${resultKind(a)},
    optargs: { ${defaults} },
    stringArgs: ${stringArgs(a)},
    fileIn: ${a.args.some((x) => x.kind === 'FileIn')},
    fileOut: ${a.args.some((x) => x.kind === 'FileOut')},
    progress: ${a.progress},
    cancellable: ${a.cancellable},
  },`;
}

function method(a: Action): string {
  const params: string[] = [];
  const fields: string[] = [];
  let file = 'null';
  for (const arg of a.args) {
    const p = parameter(arg.name);
    if (arg.kind === 'FileIn') {
      params.push(`${p}: FileInSource`);
      file = `{ direction: 'in', source: ${p} }`;
      continue;
    }
    if (arg.kind === 'FileOut') {
      params.push(`${p}: FileOutTarget`);
      file = `{ direction: 'out', target: ${p} }`;
      continue;
    }
    params.push(`${p}: ${ARG_TYPE[arg.type]}`);
    // Int64 accepts a number too; lists are copied because the wire types are mutable arrays.
    const value =
      arg.type === 'Int64' ? `BigInt(${p})` : arg.type === 'StringList' ? `[...${p}]` : p;
    fields.push(value === arg.name ? arg.name : `${arg.name}: ${value}`);
  }
  const optionsType = `${pascalCase(a.name)}Options`;
  if (a.optargs.length > 0) params.push(`options?: ${optionsType}`);
  const argsType = structs.has(`guestfs_${a.name}_args`)
    ? ` satisfies Partial<x.${typeName(`guestfs_${a.name}_args`)}>`
    : '';
  return `  ${doc(a)}
  ${camel(a.name)}(${params.join(', ')}): Promise<${returnType(a)}> {
    return this.invoke(procedures.${a.name}, { ${fields.join(', ')} }${argsType}, ${a.optargs.length > 0 ? 'options' : 'undefined'}, ${file}) as Promise<${returnType(a)}>;
  }`;
}

function optionsInterface(a: Action): string {
  const fields = a.optargs.map((o) => `  ${o.name}?: ${OPTARG[o.type].type} | undefined;`);
  return `/** Optional arguments of \`${a.name}\`. */\nexport interface ${pascalCase(a.name)}Options {\n${fields.join('\n')}\n}`;
}

for (const a of actions) check(a);

const header = (what: string): string =>
  `// Generated by packages/guestfs/tools/generate.ts (scripts/generate-protocol.sh) from ${what}.\n` +
  '// Do not edit: run packages/guestfs/scripts/generate-protocol.sh instead.\n';

const xdrModule = emitTypeScript(spec, {
  source: `common/protocol/guestfs_protocol.x of ${origin}`,
});

const withMethods = actions.filter((a) => NO_METHOD[a.name] === undefined);
const proceduresModule = `${header(`the action table and guestfs_protocol.x of ${origin}`)}/* eslint-disable */
import type { FileInSource, FileOutTarget, FileTransfer, ProcedureInfo } from './procedure.js';
import * as x from './xdr.generated.js';

/** The libguestfs release these procedures were generated from. */
export const LIBGUESTFS_VERSION = '${values.version}';

/** Every procedure of the daemon (${actions.length}), by libguestfs name. */
export const procedures = {
${actions.map(tableEntry).join('\n')}
} as const satisfies Record<string, ProcedureInfo>;

export type ProcedureName = keyof typeof procedures;

${withMethods
  .filter((a) => a.optargs.length > 0)
  .map(optionsInterface)
  .join('\n\n')}

/**
 * One typed method per daemon procedure (${withMethods.length}), named after the libguestfs action in
 * camelCase: \`is_file\` is \`isFile(path, { followsymlinks })\`. FileIn arguments take a local
 * path or a Readable, FileOut arguments a local path or a Writable. Without a method:
 * ${Object.entries(NO_METHOD)
   .map(([n, why]) => `\`${n}\` (${why})`)
   .join(', ')}.
 */
export abstract class GuestfsProcedures {
  /** Sends one call and returns its decoded result. */
  protected abstract invoke(
    procedure: ProcedureInfo,
    args: object,
    options: object | undefined,
    file: FileTransfer | null,
  ): Promise<unknown>;

${withMethods.map(method).join('\n\n')}
}
`;

const prettierOptions = {
  parser: 'typescript',
  printWidth: 100,
  singleQuote: true,
  trailingComma: 'all',
} as const;
writeFileSync(
  join(values.out, 'xdr.generated.ts'),
  await format(header(origin) + xdrModule, prettierOptions),
);
writeFileSync(
  join(values.out, 'procedures.generated.ts'),
  await format(proceduresModule, prettierOptions),
);
console.log(
  `generate: ${actions.length} procedures (${withMethods.length} methods), ${spec.definitions.length} XDR definitions -> ${values.out}`,
);
