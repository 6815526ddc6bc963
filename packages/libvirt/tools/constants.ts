/**
 * The flags, enums and error codes of libvirt's C API (from libvirt-api.xml) as TypeScript
 * value objects with their documentation, and the type each documented typed parameter
 * field takes.
 */
import type { ApiEnum, ApiEnumMember, LibvirtApi } from './api-xml.js';
import { jsDoc, tsNameOfC } from './names.js';

/**
 * TypeScript names that are not the C name without `vir`, and why: names the package had
 * before the generator, which users import.
 */
const ENUM_NAMES: Readonly<Record<string, string>> = {
  // `DomainState` is the package's union of the names virsh prints ('running', 'shut off').
  virDomainState: 'DomainStateCode',
  virErrorNumber: 'ErrorCode',
};

export interface EnumModel {
  readonly cName: string;
  readonly tsName: string;
  readonly info: string;
  readonly version: string;
  readonly members: readonly (ApiEnumMember & { readonly key: string })[];
}

/** libvirt's `*_LAST` sentinel (one past the highest value; it grows with new versions), or
 *  a `*_LAST` defined as another member (VIR_DOMAIN_MEMORY_STAT_LAST, VIR_DOMAIN_MEMORY_STAT_NR). */
function isSentinel(m: ApiEnumMember, all: readonly ApiEnumMember[]): boolean {
  if (!m.name.endsWith('_LAST')) return false;
  if (m.alias !== null && all.some((o) => o.name === m.alias)) return true;
  const others = all.filter((o) => o !== m).map((o) => o.value);
  return others.length > 0 && m.value === Math.max(...others) + 1;
}

/** The longest `_`-bounded prefix of all the names. */
function commonPrefix(names: readonly string[]): string {
  let prefix = names[0]!.slice(0, names[0]!.lastIndexOf('_') + 1);
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.replace(/[^_]*_$/, '');
  return prefix;
}

/** What to strip from the members' C names: their common prefix, or for a single member the
 *  words its type's name starts with (virNWFilterDefineFlags: VIR_NWFILTER_DEFINE_). */
function memberPrefix(e: ApiEnum, members: readonly ApiEnumMember[]): string {
  if (members.length > 1) return commonPrefix(members.map((m) => m.name));
  const typeWords = e.name.replace(/^vir/, '').toUpperCase();
  const words = members[0]!.name.split('_').slice(1);
  let prefix = 'VIR_';
  let spelled = '';
  for (const w of words.slice(0, -1)) {
    if (!typeWords.startsWith(spelled + w)) break;
    spelled += w;
    prefix += `${w}_`;
  }
  return prefix;
}

function memberKey(e: ApiEnum, m: ApiEnumMember, prefix: string): string {
  if (e.name === 'virErrorNumber') {
    // VIR_ERR_NO_DOMAIN: NO_DOMAIN; the warnings VIR_WAR_NO_NETWORK: NO_NETWORK_WARNING.
    return m.name.startsWith('VIR_WAR_')
      ? `${m.name.slice('VIR_WAR_'.length)}_WARNING`
      : m.name.slice('VIR_ERR_'.length);
  }
  let key = m.name.slice(prefix.length);
  // A key must read as a name: VIR_DOMAIN_... _2 keeps the word before the digit.
  if (/^[0-9]/.test(key)) key = m.name.slice(0, prefix.length - 1).replace(/^.*_/, '') + '_' + key;
  return key;
}

export function enumModels(api: LibvirtApi): EnumModel[] {
  const models: EnumModel[] = [];
  for (const e of [...api.enums.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const members = e.members.filter((m) => !isSentinel(m, e.members));
    if (members.length === 0) continue;
    const prefix = memberPrefix(e, members);
    const keyed = members
      .map((m) => ({ ...m, key: memberKey(e, m, prefix) }))
      .sort((a, b) => a.value - b.value || a.key.localeCompare(b.key));
    const keys = new Set(keyed.map((m) => m.key));
    if (keys.size !== keyed.length || keyed.some((m) => !/^[A-Z_][A-Z0-9_]*$/.test(m.key))) {
      throw new Error(`${e.name}: cannot name its members (${keyed.map((m) => m.key).join(', ')})`);
    }
    models.push({
      cName: e.name,
      tsName: ENUM_NAMES[e.name] ?? tsNameOfC(e.name),
      info: e.info,
      version: e.version,
      members: keyed,
    });
  }
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.tsName)) throw new Error(`two enums are named ${m.tsName}`);
    names.add(m.tsName);
  }
  return models;
}

const since = (version: string): string => (version === '' ? '' : `, since ${version}`);

function enumCode(e: EnumModel): string {
  const doc = jsDoc([
    ...(e.info === '' ? [] : [e.info, '']),
    `(\`${e.cName}\`${since(e.version)})`,
  ]);
  const members = e.members
    .map((m) => {
      const about = `${m.info === '' ? '' : `${m.info.replace(/\s+$/, '')} `}(\`${m.name}\`${since(m.version)})`;
      return `${jsDoc([about], '  ')}  ${m.key}: ${m.value},`;
    })
    .join('\n');
  return (
    `${doc}export const ${e.tsName} = {\n${members}\n} as const;\n` +
    `export type ${e.tsName} = (typeof ${e.tsName})[keyof typeof ${e.tsName}];\n`
  );
}

/** How libvirt's documentation names a typed parameter's type, to virTypedParameterType. */
const TYPE_WORDS: Readonly<Record<string, number>> = {
  int: 1,
  uint: 2,
  'unsigned int': 2,
  llong: 3,
  'long long': 3,
  ullong: 4,
  'unsigned long long': 4,
  double: 5,
  boolean: 6,
  bool: 6,
  string: 7,
};
const TYPED_PARAM_CONSTANTS = ['INT', 'UINT', 'LLONG', 'ULLONG', 'DOUBLE', 'BOOLEAN', 'STRING'];

/** The types a macro's documentation gives its field: "as VIR_TYPED_PARAM_ULLONG", "as a uint". */
function documentedTypes(info: string): Set<number> {
  const found = new Set<number>();
  for (const m of info.matchAll(/VIR_TYPED_PARAMS?_([A-Z]+)\b/g)) {
    const t = TYPED_PARAM_CONSTANTS.indexOf(m[1]!) + 1;
    if (t > 0) found.add(t);
  }
  const words = Object.keys(TYPE_WORDS)
    .sort((a, b) => b.length - a.length)
    .join('|');
  for (const m of info.matchAll(new RegExp(`\\bas an? (${words})\\b`, 'gi'))) {
    found.add(TYPE_WORDS[m[1]!.toLowerCase()]!);
  }
  return found;
}

/**
 * Typed parameter fields whose documentation names their type, as field name →
 * virTypedParameterType; a name documented with two different types is left out.
 */
function typedParamFields(api: LibvirtApi): Map<string, number> {
  const types = new Map<string, Set<number>>();
  for (const m of api.macros) {
    if (m.string === null) continue;
    const found = documentedTypes(m.info);
    if (found.size !== 1) continue;
    const set = types.get(m.string) ?? new Set<number>();
    for (const t of found) set.add(t);
    types.set(m.string, set);
  }
  return new Map(
    [...types]
      .filter(([, s]) => s.size === 1)
      .map(([field, s]) => [field, [...s][0]!] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

export function emitConstants(api: LibvirtApi, models: readonly EnumModel[]): string {
  const errors = models.find((m) => m.cName === 'virErrorNumber')!;
  const fields = typedParamFields(api);
  return `${models.map(enumCode).join('\n')}
/** The C names of the error codes, e.g. 42: \`VIR_ERR_NO_DOMAIN\`. */
export const ERROR_CODE_NAMES: ReadonlyMap<number, string> = new Map([
${errors.members.map((m) => `  [${m.value}, '${m.name}'],`).join('\n')}
]);

/**
 * The type libvirt's documentation gives a typed parameter field (the \`VIR_*_PARAM_*\` and
 * similar macros: "... as VIR_TYPED_PARAM_ULLONG", "... as a uint"), by field name, for typed
 * parameters given as plain values. Fields documented with two different types are not listed.
 */
export const TYPED_PARAM_FIELD_TYPES: ReadonlyMap<string, TypedParameterType> = new Map([
${[...fields].map(([f, t]) => `  ['${f}', ${t}],`).join('\n')}
]);
`;
}

/**
 * virDrvFeature, from the source's src/libvirt_internal.h: what a client asks the daemon with
 * CONNECT_SUPPORTS_FEATURE. Not public API, so not in libvirt-api.xml; each member follows its
 * comment, `VIR_DRV_FEATURE_NAME = N,`.
 */
export function emitDrvFeatures(header: string): string {
  const body = /typedef enum \{([\s\S]*?)\} virDrvFeature;/.exec(header)?.[1];
  if (body === undefined) throw new Error('libvirt_internal.h: no virDrvFeature');
  const members = [...body.matchAll(/\/\*([\s\S]*?)\*\/\s*VIR_DRV_FEATURE_(\w+)\s*=\s*(\d+)/g)].map(
    (m) => {
      const about = m[1]!
        .replace(/^\s*\*\s?/gm, '')
        .replace(/\s+/g, ' ')
        .trim();
      return `${jsDoc([about], '  ')}  ${m[2]}: ${m[3]},`;
    },
  );
  if (members.length < 10) throw new Error('libvirt_internal.h: virDrvFeature has too few members');
  return `${jsDoc([
    'Driver features a client asks the daemon about (CONNECT_SUPPORTS_FEATURE): `virDrvFeature`',
    "in libvirt's src/libvirt_internal.h, private to libvirt (the RPC layer answers the PROGRAM_*",
    'ones itself, the driver the others).',
  ])}export const DrvFeature = {\n${members.join('\n')}\n} as const;\n`;
}
