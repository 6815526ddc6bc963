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
  /** The type's category: S for the string types (a domain has its base type's). */
  category: string;
}

export interface RelationInfo {
  oid: number;
  name: string;
  schema: string;
  /** r table, v view, m materialized view, p partitioned table, f foreign table... */
  kind: string;
  attributes: AttributeInfo[];
}

/** Names defined outside pg_catalog (by the schema or its extensions). */
export interface UserDefinedNames {
  functions: ReadonlySet<string>;
  operators: ReadonlySet<string>;
  /** Types that a cast with a function of the schema's own turns values into. */
  castTargets: ReadonlySet<string>;
}

export class Catalog {
  private readonly types = new Map<number, TypeInfo>();
  private readonly relations = new Map<number, RelationInfo>();
  /** OIDs of relations as queries name them ("schema.name" or ".name"), null when absent. */
  private readonly references = new Map<string, number | null>();
  private readonly definitions = new Map<number, string>();
  private userDefined: Promise<UserDefinedNames> | undefined;

  constructor(private readonly db: SchemaConnection) {}

  type(oid: number): TypeInfo | undefined {
    return this.types.get(oid);
  }

  relation(oid: number): RelationInfo | undefined {
    return this.relations.get(oid);
  }

  /** A relation as a query names it; the search_path resolved it (see resolveRelations). */
  relationByReference(schema: string | undefined, name: string): RelationInfo | undefined {
    const oid = this.references.get(referenceKey(schema, name));
    return oid === undefined || oid === null ? undefined : this.relations.get(oid);
  }

  /** A view's (or materialized view's) definition, once loadDefinitions has run. */
  definition(oid: number): string | undefined {
    return this.definitions.get(oid);
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

  /**
   * Resolves relations as queries name them (schema optional), the way PostgreSQL does with
   * its search_path, and loads them.
   */
  async resolveRelations(
    names: Iterable<{ schema: string | undefined; name: string }>,
  ): Promise<void> {
    const missing = new Map<string, string>();
    for (const { schema, name } of names) {
      const key = referenceKey(schema, name);
      if (!this.references.has(key)) {
        missing.set(
          key,
          schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`,
        );
      }
    }
    if (missing.size === 0) return;
    const keys = [...missing.keys()];
    const rows = await this.db.query<{ k: number; oid: number | null }>(
      `select k::int as k, to_regclass(r)::oid::int as oid
         from unnest($1::text[]) with ordinality as x(r, k)`,
      [[...missing.values()]],
    );
    for (const row of rows) this.references.set(keys[row.k - 1] ?? '', row.oid);
    await this.loadRelations(rows.flatMap((r) => (r.oid === null ? [] : [r.oid])));
  }

  /** Loads the definitions of the given views and materialized views. */
  async loadDefinitions(oids: Iterable<number>): Promise<void> {
    const missing = [...new Set(oids)].filter((o) => !this.definitions.has(o));
    if (missing.length === 0) return;
    const rows = await this.db.query<{ oid: number; definition: string }>(
      `select c.oid::int as oid, pg_get_viewdef(c.oid) as definition
         from pg_class c where c.oid::int = any($1::int[]) and c.relkind in ('v', 'm')`,
      [missing],
    );
    for (const row of rows) this.definitions.set(row.oid, row.definition);
  }

  /** Functions, operators and cast targets the schema defines (once: it does not change). */
  userDefinedNames(): Promise<UserDefinedNames> {
    this.userDefined ??= this.db
      .query<{ functions: string[]; operators: string[]; casts: string[] }>(
        `select
           array(select distinct p.proname::text from pg_proc p
                   join pg_namespace n on n.oid = p.pronamespace
                  where n.nspname not in ('pg_catalog', 'information_schema')) as functions,
           array(select distinct o.oprname::text from pg_operator o
                   join pg_namespace n on n.oid = o.oprnamespace
                  where n.nspname <> 'pg_catalog') as operators,
           array(select distinct t.typname::text from pg_cast c
                   join pg_proc p on p.oid = c.castfunc
                   join pg_namespace n on n.oid = p.pronamespace
                   join pg_type t on t.oid = c.casttarget
                  where n.nspname <> 'pg_catalog') as casts`,
      )
      .then(([row]) => ({
        functions: new Set(row?.functions),
        operators: new Set(row?.operators),
        castTargets: new Set(row?.casts),
      }));
    return this.userDefined;
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
      category: string | null;
    }>(
      `select c.oid::int as oid, c.relname::text as name, n.nspname::text as schema,
              c.relkind::text as kind, a.attnum::int as attnum, a.attname::text as attname,
              a.attnotnull as notnull, a.atttypid::int as typeoid, t.typcategory::text as category
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         left join pg_type t on t.oid = a.atttypid
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
      }
      if (row.attnum !== null && row.attname !== null && row.typeoid !== null) {
        relation.attributes.push({
          relid: row.oid,
          attnum: row.attnum,
          name: row.attname,
          notNull: row.notnull === true,
          typeOid: row.typeoid,
          category: row.category ?? '',
        });
      }
    }
  }
}

function referenceKey(schema: string | undefined, name: string): string {
  return `${schema ?? ''}.${name}`;
}

/** An identifier as SQL text, quoted so that to_regclass reads it exactly. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
