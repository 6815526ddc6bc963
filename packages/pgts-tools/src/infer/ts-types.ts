// PostgreSQL types as TypeScript type text, for the generated declarations.
import { tsTypeOfKind, valueKind, type DateMode, type Int8Mode } from '@tsvirt/pgts/internal';
import type { Catalog } from './catalog.js';

export interface TypeMappingOptions {
  int8: Int8Mode;
  date: DateMode;
  /** Overrides by type name (`"money"`, `"public.email"`): TypeScript type text. */
  types: Record<string, string>;
  /** Overrides by column (`"contacts.subject"` or `"public.contacts.subject"`). */
  columns: Record<string, string>;
}

export const DEFAULT_TYPE_MAPPING: TypeMappingOptions = {
  int8: 'string',
  date: 'string',
  types: {},
  columns: {},
};

export class TypeMapper {
  constructor(
    private readonly catalog: Catalog,
    private readonly options: TypeMappingOptions,
  ) {}

  /**
   * The TypeScript type (without `| null`) of a value of type `oid`. A composite value is an
   * object when read, but is passed as its record literal text (`'("Main St",5)'`).
   */
  tsType(oid: number, use: 'result' | 'param' = 'result'): string {
    const type = this.catalog.type(oid);
    if (type === undefined) return 'unknown';
    const override =
      this.options.types[`${type.schema}.${type.name}`] ?? this.options.types[type.name];
    if (override !== undefined) return override;
    switch (type.kind) {
      case 'e':
        return (type.labels ?? []).map((l) => JSON.stringify(l)).join(' | ') || 'string';
      case 'd':
        return this.tsType(type.base, use);
      case 'c':
        return use === 'param' ? 'string' : this.compositeType(type.relid);
      default:
        break;
    }
    if (type.category === 'A' && type.elem !== 0) {
      const element = this.tsType(type.elem, use);
      return /^[\w.]+$/.test(element) ? `${element}[]` : `Array<${element}>`;
    }
    return tsTypeOfKind(valueKind(type.name), this.options.int8, this.options.date);
  }

  /** The override for a result column that comes straight from a table column, if any. */
  columnOverride(tableOid: number, attnum: number): string | undefined {
    const relation = this.catalog.relation(tableOid);
    const column = relation?.attributes.find((a) => a.attnum === attnum);
    if (relation === undefined || column === undefined) return undefined;
    return (
      this.options.columns[`${relation.schema}.${relation.name}.${column.name}`] ??
      this.options.columns[`${relation.name}.${column.name}`] ??
      // A domain column: describe reports the base type; the domain's own mapping wins.
      (this.catalog.type(column.typeOid)?.kind === 'd' ? this.tsType(column.typeOid) : undefined)
    );
  }

  private compositeType(relid: number): string {
    const relation = this.catalog.relation(relid);
    if (relation === undefined) return 'string';
    // Fields of a composite value can always be NULL (NOT NULL is not enforced there).
    const fields = relation.attributes.map(
      (a) => `${propertyName(a.name)}: ${this.tsType(a.typeOid)} | null`,
    );
    return `{ ${fields.join('; ')} }`;
  }
}

/** A property name, quoted when it is not a plain identifier. */
export function propertyName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}
