/**
 * The shape of an XDR-language specification (RFC 4506 section 6, plus the RPC `program`
 * definitions of RFC 5531 section 12 and the rpcgen spellings found in real files).
 */

/** Where something was written, for error messages. */
export interface Location {
  readonly line: number;
  readonly column: number;
}

/** A number written in the file, or the name of a constant (or enum member) to look up. */
export type Value =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'name'; readonly name: string; readonly at: Location };

export type PrimitiveName =
  'int' | 'uint' | 'hyper' | 'uhyper' | 'float' | 'double' | 'quadruple' | 'bool' | 'void';

export type TypeSpec =
  | {
      readonly kind: 'primitive';
      readonly name: PrimitiveName;
      /** The C spelling when the file used one of rpcgen's (`char`, `unsigned short`...). */
      readonly cType?: string;
    }
  /** A typedef, struct, enum or union defined elsewhere in the file. */
  | { readonly kind: 'named'; readonly name: string; readonly at: Location }
  | { readonly kind: 'enum'; readonly members: readonly EnumMember[] }
  | { readonly kind: 'struct'; readonly fields: readonly Declaration[] }
  | { readonly kind: 'union'; readonly body: UnionBody };

/** One field, typedef or union arm: `type name`, `type name[n]`, `type name<m>`, `type *name`... */
export type Declaration =
  | { readonly kind: 'void' }
  | { readonly kind: 'plain'; readonly name: string; readonly type: TypeSpec }
  | {
      readonly kind: 'fixedArray';
      readonly name: string;
      readonly type: TypeSpec;
      readonly length: Value;
    }
  | {
      readonly kind: 'varArray';
      readonly name: string;
      readonly type: TypeSpec;
      readonly max: Value | null;
    }
  | { readonly kind: 'fixedOpaque'; readonly name: string; readonly length: Value }
  | { readonly kind: 'varOpaque'; readonly name: string; readonly max: Value | null }
  | { readonly kind: 'string'; readonly name: string; readonly max: Value | null }
  | { readonly kind: 'optional'; readonly name: string; readonly type: TypeSpec };

export interface EnumMember {
  readonly name: string;
  readonly value: Value;
  /** The comment written just before the member, if any (without the comment markers). */
  readonly comment: string | null;
  readonly at: Location;
}

export interface UnionArm {
  readonly cases: readonly Value[];
  readonly declaration: Declaration;
}

export interface UnionBody {
  readonly discriminant: Declaration;
  readonly arms: readonly UnionArm[];
  readonly defaultArm: Declaration | null;
}

export interface Procedure {
  readonly name: string;
  readonly number: Value;
  readonly args: readonly TypeSpec[];
  readonly ret: TypeSpec;
  readonly at: Location;
}

export interface Version {
  readonly name: string;
  readonly number: Value;
  readonly procedures: readonly Procedure[];
}

export interface DefinitionBase {
  readonly name: string;
  /** The comment written just before the definition, if any (without the comment markers). */
  readonly comment: string | null;
  readonly at: Location;
}

export type Definition =
  | (DefinitionBase & { readonly kind: 'const'; readonly value: Value })
  | (DefinitionBase & { readonly kind: 'typedef'; readonly declaration: Declaration })
  | (DefinitionBase & { readonly kind: 'enum'; readonly members: readonly EnumMember[] })
  | (DefinitionBase & { readonly kind: 'struct'; readonly fields: readonly Declaration[] })
  | (DefinitionBase & { readonly kind: 'union'; readonly body: UnionBody })
  | (DefinitionBase & {
      readonly kind: 'program';
      readonly number: Value;
      readonly versions: readonly Version[];
    });

export interface Specification {
  readonly definitions: readonly Definition[];
}
