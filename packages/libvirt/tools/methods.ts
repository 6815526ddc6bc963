/**
 * One typed method per procedure of the remote program: parameters in the order of the
 * procedure's argument struct (camelCase, flags typed with the enumerations the C function's
 * documentation names), the result made what a TypeScript caller expects (the one field of a
 * one-field reply, booleans for the is/has/autostart answers, typed parameters as a Map, the
 * list of a list-all call), and libvirt's documentation of the C function.
 */
import type { ApiArg } from './api-xml.js';
import type { EnumModel } from './constants.js';
import { camelOfField, camelOfSnake, jsDoc, parameterName } from './names.js';
import type { Field, RemoteProcedure, RemoteProtocol } from './protocol.js';

/** Procedures without a generated method, and why. */
export const NOT_GENERATED: Readonly<Record<string, string>> = {
  CONNECT_OPEN: 'opening the connection: connect()',
  CONNECT_CLOSE: 'closing the connection: close()',
  AUTH_LIST: 'authentication, done by connect()',
  AUTH_POLKIT: 'authentication, done by connect()',
  AUTH_SASL_INIT: 'SASL authentication: not implemented',
  AUTH_SASL_START: 'SASL authentication: not implemented',
  AUTH_SASL_STEP: 'SASL authentication: not implemented',
  CONNECT_DOMAIN_EVENT_REGISTER: 'legacy event registration (libvirt < 0.8): onDomainEvent',
  CONNECT_DOMAIN_EVENT_DEREGISTER: 'legacy event registration (libvirt < 0.8): onDomainEvent',
  CONNECT_DOMAIN_EVENT_REGISTER_ANY: 'legacy event registration (libvirt < 1.2.1): onDomainEvent',
  CONNECT_DOMAIN_EVENT_DEREGISTER_ANY: 'legacy event registration (libvirt < 1.2.1): onDomainEvent',
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 'events: onDomainEvent',
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 'events: onDomainEvent',
  CONNECT_NETWORK_EVENT_REGISTER_ANY: 'events: onNetworkEvent',
  CONNECT_NETWORK_EVENT_DEREGISTER_ANY: 'events: onNetworkEvent',
  CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY: 'events: onStoragePoolEvent',
  CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY: 'events: onStoragePoolEvent',
  CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY: 'events: onNodeDeviceEvent',
  CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY: 'events: onNodeDeviceEvent',
  CONNECT_SECRET_EVENT_REGISTER_ANY: 'events: onSecretEvent',
  CONNECT_SECRET_EVENT_DEREGISTER_ANY: 'events: onSecretEvent',
  CONNECT_REGISTER_CLOSE_CALLBACK:
    "the daemon's notice that its hypervisor connection closed: not implemented (onClose reports the connection to the daemon)",
  CONNECT_UNREGISTER_CLOSE_CALLBACK:
    "the daemon's notice that its hypervisor connection closed: not implemented (onClose reports the connection to the daemon)",
  CONNECT_GET_ALL_DOMAIN_STATS: 'hand-written: typed parameters in each record',
  DOMAIN_GET_CPU_STATS: 'hand-written: typed parameters counted per CPU, in groups',
  DOMAIN_OPEN_GRAPHICS: 'passes a file descriptor, which Node cannot send over a socket',
  DOMAIN_OPEN_GRAPHICS_FD: 'returns a file descriptor, which Node cannot receive over a socket',
  DOMAIN_FD_ASSOCIATE: 'passes file descriptors, which Node cannot send over a socket',
};

/** Arguments the protocol has for the C library's convenience; the method always sends 1. */
const ALWAYS_ONE = new Set(['need_results', 'need_map', 'need_online']);

/** The C API's name for a wire field, where they differ. */
const C_ARG_NAMES: Readonly<Record<string, string>> = { dom: 'domain', net: 'network' };
const norm = (n: string): string => n.toLowerCase().replace(/_/g, '');

/** The reply is a yes/no answer: is*, has*, get*Autostart. */
const isQuestion = (p: RemoteProcedure): boolean => /(^|_)(IS|HAS)_|GET_AUTOSTART$/.test(p.name);

interface Param {
  readonly name: string;
  readonly type: string;
  /** The value sent, from the parameter. */
  readonly wire: string;
  readonly optional: boolean;
  readonly doc: string;
}

export class MethodWriter {
  /** Enumeration types (TypeScript names) the methods use, and those they use as values. */
  readonly enumsUsed = new Set<string>();
  readonly enumValuesUsed = new Set<string>();
  private readonly enumsByC: ReadonlyMap<string, EnumModel>;

  constructor(
    private readonly protocol: RemoteProtocol,
    enums: readonly EnumModel[],
  ) {
    this.enumsByC = new Map(enums.map((e) => [e.cName, e]));
  }

  /** The enumerations a C argument's documentation names ("bitwise-OR of virDomainXMLFlags"). */
  private enumsIn(info: string): string[] {
    const found = [...info.matchAll(/\bvir[A-Z][A-Za-z0-9]*/g)]
      .map((m) => this.enumsByC.get(m[0]))
      .filter((e): e is EnumModel => e !== undefined)
      .map((e) => e.tsName);
    return [...new Set(found)];
  }

  private cArg(proc: RemoteProcedure, field: string): ApiArg | undefined {
    const want = norm(C_ARG_NAMES[field] ?? field);
    return proc.cFunction?.args.find((a) => norm(a.name) === want);
  }

  private param(proc: RemoteProcedure, f: Field, last: boolean): Param {
    const name = parameterName(f.name);
    const c = this.cArg(proc, f.name);
    const doc = c?.info ?? '';
    const base = { name, wire: name, optional: false, doc };
    if (this.protocol.isTypedParamArray(f)) {
      return { ...base, type: 'TypedParamsInput', wire: `toTypedParams(${name})` };
    }
    if (f.kind === 'fixedArray' || f.kind === 'varArray') {
      return { ...base, type: `readonly ${this.protocol.fieldType(f, 't')}`, wire: `[...${name}]` };
    }
    const wireType = this.protocol.fieldType(f, 't');
    if (f.name === 'autostart' && wireType === 'number') {
      return { ...base, type: 'boolean', wire: `${name} ? 1 : 0` };
    }
    if (f.name === 'flags' && doc.includes('virTypedParameterFlags')) {
      // As libvirt's C library does: typed parameters may be strings when the daemon says so.
      const enums = this.enumsIn(doc);
      enums.forEach((e) => this.enumsUsed.add(e));
      return {
        ...base,
        type: `Flags<${enums.join(' | ')}>`,
        wire: `${name} | (await this.typedParamStringsFlag())`,
        optional: last,
      };
    }
    if (wireType === 'number') {
      const enums = this.enumsIn(doc);
      if (enums.length > 0) {
        enums.forEach((e) => this.enumsUsed.add(e));
        const isFlags = f.name === 'flags' || /\bOR\b|bitwise|binary/i.test(doc);
        const type = isFlags ? `Flags<${enums.join(' | ')}>` : enums.join(' | ');
        return { ...base, type, optional: f.name === 'flags' && last };
      }
      if (f.name === 'flags' && last) return { ...base, type: 'Flags', optional: true };
    }
    return { ...base, type: wireType };
  }

  /** The method of a procedure, or null when it has none (see NOT_GENERATED, events). */
  method(proc: RemoteProcedure): string | null {
    if (NOT_GENERATED[proc.name] !== undefined || proc.msg !== null) return null;
    const p = this.protocol;
    const argFields = (proc.args?.fields ?? []) as Field[];
    const retFields = (proc.ret?.fields ?? []) as Field[];
    const retParams = retFields.find((f) => f.name === 'params');
    // libvirt's typed-parameter getters: the count first (nparams 0), then that many.
    const counted =
      argFields.some((f) => f.name === 'nparams') &&
      retParams !== undefined &&
      retParams.kind === 'varArray';
    // A getter whose reply has no count (scheduler parameters) asks for the protocol's maximum.
    const fixedCount =
      counted && !retFields.some((f) => f.name === 'nparams') ? this.arrayMax(retParams) : null;
    const visible = argFields.filter(
      (f) => !ALWAYS_ONE.has(f.name) && !(counted && f.name === 'nparams'),
    );
    const params = visible.map((f, i) => this.param(proc, f, i === visible.length - 1));
    const wireArgs = argFields.map((f) => {
      const key = camelOfField(f.name);
      if (ALWAYS_ONE.has(f.name)) return `${key}: 1`;
      if (counted && f.name === 'nparams')
        return fixedCount === null ? null : `nparams: ${fixedCount}`;
      const param = params[visible.indexOf(f)]!;
      return param.wire === key ? key : `${key}: ${param.wire}`;
    });
    const argsExpr =
      proc.args === null ? 'undefined' : `{ ${wireArgs.filter((a) => a !== null).join(', ')} }`;

    let returnType: string;
    let body: string;
    const stream = proc.annotations.has('readstream') || proc.annotations.has('writestream');
    if (stream) {
      const sparseFlag = proc.annotations.get('sparseflag')?.[0];
      const sparse =
        sparseFlag === undefined ? 'false' : `(flags & ${this.flagValue(sparseFlag)}) !== 0`;
      const open = `this.openStream(Proc.${camelOfSnake(proc.name)}, ${argsExpr}, ${sparse})`;
      if (retFields.length === 0) {
        returnType = 'LibvirtStream';
        body = `return (await ${open}).stream;`;
      } else {
        returnType = `{ stream: LibvirtStream } & t.${p.typeName(proc.ret!.name)}`;
        body = `const { stream, result } = await ${open};\n    return { stream, ...result };`;
      }
    } else if (counted) {
      const element =
        retParams.kind === 'varArray' && retParams.type.kind === 'named' ? retParams.type.name : '';
      const call =
        fixedCount === null
          ? `await this.callCounted(Proc.${camelOfSnake(proc.name)}, ${argsExpr})`
          : `(await this.call(Proc.${camelOfSnake(proc.name)}, ${argsExpr})).params`;
      if (element === 'remote_typed_param') {
        returnType = 'TypedParams';
        body = `return fromTypedParams(${call});`;
      } else {
        // remote_node_get_cpu_stats, remote_node_get_memory_stats: { field, value } pairs.
        returnType = 'Map<string, bigint>';
        body = `return new Map((${call}).map((s) => [s.field, s.value]));`;
      }
    } else {
      const shown = this.resultFields(retFields);
      const call = `await this.call(Proc.${camelOfSnake(proc.name)}, ${argsExpr})`;
      if (shown.length === 0) {
        returnType = 'void';
        body = `${call};`;
      } else if (shown.length === 1) {
        const f = shown[0]!;
        const key = camelOfField(f.name);
        if (isQuestion(proc) && p.fieldType(f, 't') === 'number') {
          returnType = 'boolean';
          body = `return (${call}).${key} !== 0;`;
        } else if (p.isTypedParamArray(f)) {
          returnType = 'TypedParams';
          body = `return fromTypedParams((${call}).${key});`;
        } else {
          returnType = p.fieldType(f, 't');
          body = `return (${call}).${key};`;
        }
      } else {
        const resultType = `t.${p.typeName(proc.ret!.name)}`;
        const typed = shown.filter((f) => p.isTypedParamArray(f)).map((f) => camelOfField(f.name));
        if (typed.length === 0) {
          returnType = resultType;
          body = `return ${call};`;
        } else {
          const keys = typed.map((k) => `'${k}'`).join(' | ');
          returnType = `Omit<${resultType}, ${keys}> & { ${typed.map((k) => `${k}: TypedParams`).join('; ')} }`;
          body = `const r = ${call};\n    return { ...r, ${typed.map((k) => `${k}: fromTypedParams(r.${k})`).join(', ')} };`;
        }
      }
    }
    const signature = params
      .map((x) => `${x.name}: ${x.type}${x.optional ? ' = 0' : ''}`)
      .join(', ');
    return `${this.doc(proc, params)}  async ${proc.method}(${signature}): Promise<${returnType}> {\n    ${body}\n  }`;
  }

  /** A reply's fields as the method returns them: a list-all's count (`ret`) is its list's length. */
  private resultFields(fields: readonly Field[]): Field[] {
    const hasList = fields.some((f) => f.kind === 'varArray');
    return fields.filter((f) => !(hasList && f.name === 'ret' && fields.length === 2));
  }

  private arrayMax(f: Field): number {
    if (f.kind !== 'varArray' || f.max === null) throw new Error(`${f.name}: no maximum`);
    return f.max.kind === 'number' ? f.max.value : this.protocol.constant(f.max.name);
  }

  private flagValue(cName: string): string {
    for (const e of this.enumsByC.values()) {
      const m = e.members.find((x) => x.name === cName);
      if (m !== undefined) {
        this.enumsUsed.add(e.tsName);
        this.enumValuesUsed.add(e.tsName);
        return `${e.tsName}.${m.key}`;
      }
    }
    throw new Error(`@sparseflag ${cName} is not in libvirt-api.xml`);
  }

  private doc(proc: RemoteProcedure, params: readonly Param[]): string {
    const lines: string[] = [];
    const c = proc.cFunction;
    if (c !== null) {
      if (c.info !== '') lines.push(c.info, '');
      lines.push(
        `\`${c.name}\`${c.version === '' ? '' : ` (since ${c.version})`}: procedure ${proc.name} (${proc.number}).`,
      );
    } else if (proc.name.startsWith('DOMAIN_MIGRATE_')) {
      lines.push(
        `A step of libvirt's migration protocol (procedure ${proc.name}, ${proc.number}), which libvirt's own`,
        'client drives; migrateToUri3 with MigrateFlags.PEER2PEER lets the source daemon drive it all.',
      );
    } else {
      lines.push(`Procedure ${proc.name} (${proc.number}), with no public C function of its own.`);
    }
    for (const x of params) {
      if (x.doc !== '') lines.push(`@param ${x.name} - ${x.doc.replace(/\s+/g, ' ')}`);
    }
    return jsDoc(lines, '  ');
  }
}
