/**
 * libvirt-api.xml (Debian's libvirt-dev, /usr/share/libvirt/api): the public C API as data,
 * written by libvirt's build from its headers and their doc comments. The generator takes the
 * flags, enums and error codes from it with their documentation, and the documentation and
 * flag types of the functions each procedure implements.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';

export interface ApiEnumMember {
  /** C name, e.g. VIR_DOMAIN_XML_SECURE. */
  readonly name: string;
  readonly value: number;
  /** The member this one is defined as (VIR_DOMAIN_VCPU_CONFIG = VIR_DOMAIN_AFFECT_CONFIG). */
  readonly alias: string | null;
  readonly info: string;
  readonly version: string;
}

export interface ApiEnum {
  /** C typedef, e.g. virDomainXMLFlags. */
  readonly name: string;
  readonly info: string;
  readonly version: string;
  readonly members: readonly ApiEnumMember[];
}

export interface ApiArg {
  readonly name: string;
  readonly type: string;
  readonly info: string;
}

export interface ApiFunction {
  readonly name: string;
  readonly info: string;
  readonly version: string;
  readonly returns: string;
  readonly args: readonly ApiArg[];
}

export interface ApiMacro {
  readonly name: string;
  /** The string the macro stands for (typed parameter field names). */
  readonly string: string | null;
  /** Its definition as written, e.g. `(256 + 1)`. */
  readonly raw: string;
  readonly info: string;
}

export interface LibvirtApi {
  /** By C typedef name. */
  readonly enums: ReadonlyMap<string, ApiEnum>;
  /** Functions and callback types (functype), by C name. */
  readonly functions: ReadonlyMap<string, ApiFunction>;
  readonly macros: readonly ApiMacro[];
}

type Node = Record<string, unknown>;

const text = (v: unknown): string =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);

function fn(node: Node): ApiFunction {
  const ret = node['return'] as Node | undefined;
  return {
    name: text(node['name']),
    info: text(node['info']),
    version: text(node['version']),
    returns: text(ret?.['info']),
    args: list(node['arg']).map((a) => ({
      name: text(a['name']),
      type: text(a['type']),
      info: text(a['info']),
    })),
  };
}

export function readLibvirtApi(path: string): LibvirtApi {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => ['enum', 'typedef', 'function', 'functype', 'macro', 'arg'].includes(name),
  });
  const api = (parser.parse(readFileSync(path, 'utf8')) as { api?: { symbols?: Node } }).api;
  const symbols = api?.symbols;
  if (symbols === undefined) throw new Error(`${path}: not libvirt's API description`);

  const typedefs = new Map(list(symbols['typedef']).map((t) => [text(t['name']), t]));
  const enums = new Map<string, ApiEnum>();
  const raw = new Map<string, string>();
  for (const e of list(symbols['enum'])) {
    const type = text(e['type']);
    let group = enums.get(type);
    if (group === undefined) {
      const typedef = typedefs.get(type);
      group = {
        name: type,
        info: text(typedef?.['info']),
        version: text(typedef?.['version']),
        members: [],
      };
      enums.set(type, group);
    }
    (group.members as ApiEnumMember[]).push({
      name: text(e['name']),
      value: Number.NaN, // resolved below: some members are defined as another one
      alias: /^[A-Z_][A-Z0-9_]*$/.test(text(e['value'])) ? text(e['value']) : null,
      info: text(e['info']),
      version: text(e['version']),
    });
    raw.set(text(e['name']), text(e['value']));
  }
  const resolve = (name: string, seen: readonly string[] = []): number => {
    const value = raw.get(name);
    if (value === undefined || seen.includes(name))
      throw new Error(`${path}: ${name} has no value`);
    return /^-?[0-9]+$/.test(value) ? Number(value) : resolve(value, [...seen, name]);
  };
  for (const group of enums.values()) {
    for (const m of group.members as { -readonly [K in keyof ApiEnumMember]: ApiEnumMember[K] }[]) {
      m.value = resolve(m.name);
    }
  }

  const functions = new Map<string, ApiFunction>();
  for (const f of [...list(symbols['function']), ...list(symbols['functype'])]) {
    functions.set(text(f['name']), fn(f));
  }
  const macros = list(symbols['macro']).map((m) => ({
    name: text(m['name']),
    string: typeof m['string'] === 'string' ? m['string'] : null,
    raw: text(m['raw']),
    info: text(m['info']),
  }));
  return { enums, functions, macros };
}

/**
 * The C constants the protocol takes from libvirt's headers: every enumeration member, and
 * every macro defined as a number or a sum of two (VIR_SECURITY_LABEL_BUFLEN is `(4096 + 1)`).
 */
export function headerConstants(api: LibvirtApi): Record<string, number> {
  const constants: Record<string, number> = {};
  for (const e of api.enums.values()) for (const m of e.members) constants[m.name] = m.value;
  for (const m of api.macros) {
    const sum = /^\(?\s*(\d+)\s*(?:\+\s*(\d+)\s*)?\)?$/.exec(m.raw);
    if (sum !== null) constants[m.name] = Number(sum[1]) + Number(sum[2] ?? 0);
  }
  return constants;
}
