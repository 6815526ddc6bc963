// What the type inference reads from the system catalogs, fetched in batches and cached for
// the whole run (the schema does not change while queries are described).
import type { SchemaConnection } from '../describe/connection.js';

export interface TypeInfo {
  oid: number;
  name: string;
  schema: string;
  /** b base, e enum, d domain, c composite, r range, m multirange, p pseudo. */
  kind: string;
  category: string;
  elem: number;
  base: number;
  relid: number;
  labels: string[] | null;
}

export interface AttributeInfo {
  relid: number;
  attnum: number;
  name: string;
  notNull: boolean;
  typeOid: number;
}

export interface RelationInfo {
  oid: number;
  name: string;
  schema: string;
  /** r table, v view, m materialized view, p partitioned table, f foreign table... */
  kind: string;
  attributes: AttributeInfo[];
}

export class Catalog {
  private readonly types = new Map<number, TypeInfo>();
  private readonly relations = new Map<number, RelationInfo>();
  private readonly relationsByName = new Map<string, RelationInfo | null>();

  constructor(private readonly db: SchemaConnection) {}

  type(oid: number): TypeInfo | undefined {
    return this.types.get(oid);
  }

  relation(oid: number): RelationInfo | undefined {
    return this.relations.get(oid);
  }

  relationByName(schema: string, name: string): RelationInfo | undefined {
    return this.relationsByName.get(`${schema}.${name}`) ?? undefined;
  }

  /** Loads the given types and everything they refer to (elements, bases, composite fields). */
  async loadTypes(oids: Iterable<number>): Promise<void> {
    let missing = [...new Set(oids)].filter((o) => o !== 0 && !this.types.has(o));
    while (missing.length > 0) {
      const rows = await this.db.query<TypeInfo>(
        `select t.oid::int as oid, t.typname::text as name, n.nspname::text as schema,
                t.typtype::text as kind, t.typcategory::text as category, t.typelem::int as elem,
                t.typbasetype::int as base, t.typrelid::int as relid,
                case when t.typtype = 'e' then
                  (select array_agg(e.enumlabel::text order by e.enumsortorder)
                     from pg_enum e where e.enumtypid = t.oid)
                end as labels
           from pg_type t join pg_namespace n on n.oid = t.typnamespace
          where t.oid::int = any($1::int[])`,
        [missing],
      );
      for (const row of rows) this.types.set(row.oid, row);
      const composites = rows.filter((t) => t.kind === 'c' && t.relid !== 0).map((t) => t.relid);
      await this.loadRelations(composites);
      const next = rows.flatMap((t) => [t.elem, t.base]);
      for (const relid of composites) {
        for (const a of this.relations.get(relid)?.attributes ?? []) next.push(a.typeOid);
      }
      missing = [...new Set(next)].filter((o) => o !== 0 && !this.types.has(o));
    }
  }

  /** Loads relations (tables, views, composite types) and their columns by OID. */
  async loadRelations(oids: Iterable<number>): Promise<void> {
    const missing = [...new Set(oids)].filter((o) => o !== 0 && !this.relations.has(o));
    if (missing.length === 0) return;
    await this.loadRelationsWhere('c.oid::int = any($1::int[])', [missing]);
  }

  /** Loads relations by schema-qualified name ("public.contacts"). */
  async loadRelationsByName(names: Iterable<{ schema: string; relation: string }>): Promise<void> {
    const missing = [...names]
      .map((n) => `${n.schema}.${n.relation}`)
      .filter((key) => !this.relationsByName.has(key));
    if (missing.length === 0) return;
    await this.loadRelationsWhere(`(n.nspname || '.' || c.relname) = any($1::text[])`, [missing]);
    for (const key of missing)
      if (!this.relationsByName.has(key)) this.relationsByName.set(key, null);
  }

  private async loadRelationsWhere(where: string, params: unknown[]): Promise<void> {
    const rows = await this.db.query<{
      oid: number;
      name: string;
      schema: string;
      kind: string;
      attnum: number | null;
      attname: string | null;
      notnull: boolean | null;
      typeoid: number | null;
    }>(
      `select c.oid::int as oid, c.relname::text as name, n.nspname::text as schema,
              c.relkind::text as kind, a.attnum::int as attnum, a.attname::text as attname,
              a.attnotnull as notnull, a.atttypid::int as typeoid
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where ${where}
        order by c.oid, a.attnum`,
      params,
    );
    for (const row of rows) {
      let relation = this.relations.get(row.oid);
      if (relation === undefined) {
        relation = {
          oid: row.oid,
          name: row.name,
          schema: row.schema,
          kind: row.kind,
          attributes: [],
        };
        this.relations.set(row.oid, relation);
        this.relationsByName.set(`${row.schema}.${row.name}`, relation);
      }
      if (row.attnum !== null && row.attname !== null && row.typeoid !== null) {
        relation.attributes.push({
          relid: row.oid,
          attnum: row.attnum,
          name: row.attname,
          notNull: row.notnull === true,
          typeOid: row.typeoid,
        });
      }
    }
  }
}
