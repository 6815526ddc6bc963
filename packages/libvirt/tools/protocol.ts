/**
 * remote_protocol.x as the generator sees it: every procedure with its annotations, its
 * argument, return and event message structs, and the C function it implements.
 */
import {
  type Declaration,
  type Definition,
  PRIMITIVE_TS,
  type Specification,
  type TypeSpec,
} from '@tsvirt/xdr/xdrgen';
import type { ApiFunction, LibvirtApi } from './api-xml.js';
import { camelOfSnake, camelOfWords, cWords, pascalOfSnake } from './names.js';

export type Struct = Extract<Definition, { kind: 'struct' }>;
export type Field = Exclude<Declaration, { kind: 'void' }>;

export interface RemoteProcedure {
  /** REMOTE_PROC_ without the prefix, e.g. DOMAIN_GET_INFO. */
  readonly name: string;
  /** The lower-case name the .x uses in struct names: domain_get_info. */
  readonly xdrName: string;
  readonly number: number;
  /** `@generate: both`, `@readstream: 1`... as name → values. */
  readonly annotations: ReadonlyMap<string, readonly string[]>;
  readonly args: Struct | null;
  readonly ret: Struct | null;
  /** The message the daemon sends for an event procedure. */
  readonly msg: Struct | null;
  /** The public C function the procedure implements, if any (virDomainGetInfo). */
  readonly cFunction: ApiFunction | null;
  /** The TypeScript method name: the C function's name without `vir` (domainGetInfo), else the procedure's. */
  readonly method: string;
}

/** libvirt's object handles, as the package names them. */
export const REF_TYPES: Readonly<Record<string, string>> = {
  remote_nonnull_domain: 'DomainRef',
  remote_nonnull_network: 'NetworkRef',
  remote_nonnull_network_port: 'NetworkPortRef',
  remote_nonnull_nwfilter: 'NwFilterRef',
  remote_nonnull_nwfilter_binding: 'NwFilterBindingRef',
  remote_nonnull_interface: 'InterfaceRef',
  remote_nonnull_storage_pool: 'StoragePoolRef',
  remote_nonnull_storage_vol: 'StorageVolRef',
  remote_nonnull_node_device: 'NodeDeviceRef',
  remote_nonnull_secret: 'SecretRef',
  remote_nonnull_domain_snapshot: 'DomainSnapshotRef',
  remote_nonnull_domain_checkpoint: 'DomainCheckpointRef',
};

function annotations(comment: string | null): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const m of (comment ?? '').matchAll(/^\s*\*?\s*@([a-z]+):\s*(.*?)\s*$/gm)) {
    const values = found.get(m[1]!) ?? [];
    values.push(m[2]!);
    found.set(m[1]!, values);
  }
  return found;
}

export class RemoteProtocol {
  readonly procedures: readonly RemoteProcedure[];
  readonly structs = new Map<string, Struct>();
  readonly typedefs = new Map<string, Extract<Definition, { kind: 'typedef' }>>();
  private readonly byStruct = new Map<string, { proc: RemoteProcedure; role: string }>();

  constructor(
    readonly spec: Specification,
    api: LibvirtApi,
  ) {
    for (const d of spec.definitions) {
      if (d.kind === 'struct') this.structs.set(d.name, d);
      if (d.kind === 'typedef') this.typedefs.set(d.name, d);
    }
    const functions = new Map(
      [...api.functions.values()].map((f) => [f.name.toLowerCase(), f] as const),
    );
    const procEnum = spec.definitions.find((d) => d.name === 'remote_procedure');
    if (procEnum?.kind !== 'enum') throw new Error('remote_protocol.x has no remote_procedure');
    this.procedures = procEnum.members.map((m) => {
      if (m.value.kind !== 'number') throw new Error(`${m.name}: not a number`);
      const name = m.name.replace(/^REMOTE_PROC_/, '');
      const xdrName = name.toLowerCase();
      const cFunction = functions.get(`vir${xdrName.replace(/_/g, '')}`) ?? null;
      // The first member's comment also carries the annotation guide: keep its last block.
      const comment = m.comment?.slice(m.comment.lastIndexOf('@generate')) ?? null;
      return {
        name,
        xdrName,
        number: m.value.value,
        annotations: annotations(comment),
        args: this.structs.get(`remote_${xdrName}_args`) ?? null,
        ret: this.structs.get(`remote_${xdrName}_ret`) ?? null,
        msg: this.structs.get(`remote_${xdrName}_msg`) ?? null,
        cFunction,
        method: cFunction
          ? camelOfWords(cWords(cFunction.name.replace(/^vir/, '')))
          : camelOfSnake(xdrName),
      };
    });
    for (const proc of this.procedures) {
      for (const role of ['args', 'ret', 'msg'] as const) {
        const s = proc[role];
        if (s !== null) this.byStruct.set(s.name, { proc, role });
      }
    }
  }

  /**
   * The TypeScript name of an XDR type: handles as DomainRef..., a procedure's structs after
   * its method (DomainGetInfoArgs, DomainGetInfoResult, DomainEventCallbackLifecycleMsg), the
   * rest without `remote_`.
   */
  typeName = (xdrName: string): string => {
    const ref = REF_TYPES[xdrName];
    if (ref !== undefined) return ref;
    const nonnull = REF_TYPES[xdrName.replace(/^remote_/, 'remote_nonnull_')];
    if (nonnull !== undefined) return `Optional${nonnull}`;
    const owner = this.byStruct.get(xdrName);
    if (owner !== undefined) {
      const base = owner.proc.method.charAt(0).toUpperCase() + owner.proc.method.slice(1);
      return base + { args: 'Args', ret: 'Result', msg: 'Msg' }[owner.role]!;
    }
    if (xdrName === 'remote_procedure') return 'RemoteProcedureNumber';
    if (xdrName === 'remote_error') return 'RemoteError';
    if (xdrName === 'remote_string') return 'OptionalString';
    return pascalOfSnake(xdrName.replace(/^remote_/, ''));
  };

  /** The value of a `const` of the specification. */
  constant(name: string): number {
    const d = this.spec.definitions.find((x) => x.name === name);
    if (d?.kind !== 'const' || d.value.kind !== 'number')
      throw new Error(`${name}: not a numeric constant`);
    return d.value.value;
  }

  /** Whether a type is (a typedef of) remote_typed_param. */
  isTypedParamArray(f: Field): boolean {
    return f.kind === 'varArray' && f.type.kind === 'named' && f.type.name === 'remote_typed_param';
  }

  /** The TypeScript type of a field, as the generated module spells it (simple typedefs resolved). */
  fieldType(f: Field, module: string): string {
    const element = (t: TypeSpec): string => this.specType(t, module);
    switch (f.kind) {
      case 'plain':
        return element(f.type);
      case 'optional':
        return `${element(f.type)} | null`;
      case 'fixedArray':
      case 'varArray': {
        const e = element(f.type);
        return /^[\w.]+$/.test(e) ? `${e}[]` : `(${e})[]`;
      }
      case 'fixedOpaque':
      case 'varOpaque':
        return 'Uint8Array';
      case 'string':
        return 'string';
    }
  }

  private specType(t: TypeSpec, module: string): string {
    switch (t.kind) {
      case 'primitive':
        return PRIMITIVE_TS[t.name];
      case 'named': {
        if (t.name === 'remote_nonnull_string' || t.name === 'remote_uuid') return 'string';
        if (t.name === 'remote_string') return 'string | null';
        return `${module}.${this.typeName(t.name)}`;
      }
      case 'enum':
      case 'struct':
      case 'union':
        throw new Error(`an inline ${t.kind} in a procedure's struct`);
    }
  }
}
