// Describes one query: its parameters and result columns with TypeScript types and
// nullability. Parse + Describe gives types and column origins; the generic plan gives
// nullability through joins, views, CTEs and LATERAL.
import type { SchemaConnection } from '../describe/connection.js';
import { PostgresError } from '../describe/connection.js';
import { DescribeError } from '../errors.js';
import { splitOverride } from '@tsvirt/pgts/internal';
import { rewritePlaceholders } from '@tsvirt/pgts';
import type { ParamKind } from '@tsvirt/pgts/internal';
import { Catalog } from './catalog.js';
import { PlanNullability, scannedRelations, type PlanNode } from './plan-nullability.js';
import { TypeMapper, type TypeMappingOptions } from './ts-types.js';

export interface ParamShape {
  name: string;
  kind: ParamKind;
  /** TypeScript type of the value (for a list: the element type). */
  tsType: string;
}

export interface ColumnShape {
  /** Property name in the row (an override suffix ! or ? removed). */
  name: string;
  tsType: string;
  nullable: boolean;
}

export interface QueryShape {
  sql: string;
  params: ParamShape[];
  columns: ColumnShape[];
}

export class QueryAnalyzer {
  private readonly catalog: Catalog;
  private readonly types: TypeMapper;
  private planReady = false;

  constructor(
    private readonly db: SchemaConnection,
    options: TypeMappingOptions,
  ) {
    this.catalog = new Catalog(db);
    this.types = new TypeMapper(this.catalog, options);
  }

  /** Throws DescribeError (with an offset into `sql` when known) when PostgreSQL refuses it. */
  async analyze(sql: string): Promise<QueryShape> {
    const rewritten = rewritePlaceholders(sql);
    let description;
    try {
      description = await this.db.describe(rewritten.text);
    } catch (e) {
      if (!(e instanceof PostgresError)) throw e;
      const offset =
        e.position === undefined ? undefined : rewritten.originalOffset(e.position - 1);
      const extra = [e.detail, e.hint && `hint: ${e.hint}`].filter(Boolean).join('; ');
      throw new DescribeError(extra ? `${e.message} (${extra})` : e.message, offset, e.sqlState);
    }
    const { paramTypes, columns } = description;
    await this.catalog.loadTypes([...paramTypes, ...columns.map((c) => c.typeOid)]);
    await this.catalog.loadRelations(columns.map((c) => c.tableOid));
    const origins = columns.map((c) =>
      this.catalog.relation(c.tableOid)?.attributes.find((a) => a.attnum === c.attnum),
    );
    await this.catalog.loadTypes(origins.flatMap((a) => (a === undefined ? [] : [a.typeOid])));

    const optional = new Set(
      rewritten.params.filter((p) => p.kind === 'optional').map((p) => p.index),
    );
    const nullable =
      columns.length === 0
        ? []
        : ((await this.planNullability(
            rewritten.text,
            paramTypes.length,
            optional,
            columns.length,
          )) ?? columns.map((c, k) => !(origins[k]?.notNull === true && this.isTable(c.tableOid))));

    const params = rewritten.params.map((p): ParamShape => {
      const oid = paramTypes[p.index - 1] ?? 0;
      const type = this.catalog.type(oid);
      if (p.kind === 'list' && type?.category !== 'A') {
        throw new DescribeError(
          `list parameter $@${p.name} is not used as a list: write x IN ($@${p.name}) or x = any($@${p.name})`,
          sql.indexOf(`$@${p.name}`),
          undefined,
        );
      }
      // A list is bound as one array parameter: its element type is what the caller lists.
      const elementOid = p.kind === 'list' && type !== undefined ? type.elem : oid;
      return { name: p.name, kind: p.kind, tsType: this.types.tsType(elementOid, 'param') };
    });

    const shapes = columns.map((c, k): ColumnShape => {
      const { name, override } = splitOverride(c.name);
      return {
        name,
        tsType: this.types.columnOverride(c.tableOid, c.attnum) ?? this.types.tsType(c.typeOid),
        nullable: override === '!' ? false : override === '?' ? true : (nullable[k] ?? true),
      };
    });
    const names = shapes.map((c) => c.name);
    const duplicate = names.find((name, k) => names.indexOf(name) !== k);
    if (duplicate !== undefined) {
      // A row object has one property per name: the second would silently hide the first.
      throw new DescribeError(
        `the result has more than one column named "${duplicate}": give them distinct aliases`,
        undefined,
        undefined,
      );
    }
    return { sql, params, columns: shapes };
  }

  private isTable(oid: number): boolean {
    const kind = this.catalog.relation(oid)?.kind;
    return kind === 'r' || kind === 'p';
  }

  /** Nullability from the generic plan, or undefined when the statement has no plan. */
  private async planNullability(
    sql: string,
    paramCount: number,
    optional: ReadonlySet<number>,
    columnCount: number,
  ): Promise<boolean[] | undefined> {
    if (!this.planReady) {
      // A generic plan keeps $n as parameters: NULL arguments cannot fold joins away.
      await this.db.exec('set plan_cache_mode = force_generic_plan');
      this.planReady = true;
    }
    let plan: PlanNode | undefined;
    try {
      await this.db.exec(`prepare pgts_describe as ${sql}`);
      try {
        const args =
          paramCount === 0 ? '' : `(${new Array<string>(paramCount).fill('null').join(', ')})`;
        const rows = await this.db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> | string }>(
          `explain (verbose, format json) execute pgts_describe${args}`,
        );
        const raw = rows[0]?.['QUERY PLAN'];
        const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
        plan = (parsed as Array<{ Plan: PlanNode }> | undefined)?.[0]?.Plan;
      } finally {
        await this.db.exec('deallocate pgts_describe');
      }
    } catch (e) {
      if (e instanceof PostgresError) return undefined; // not explainable (utility statement)
      throw e;
    }
    if (plan === undefined) return undefined;
    await this.catalog.loadRelationsByName(scannedRelations(plan));
    const nullability = new PlanNullability(
      plan,
      {
        isNotNull: (schema, relation, column) =>
          this.catalog.relationByName(schema, relation)?.attributes.find((a) => a.name === column)
            ?.notNull,
      },
      optional,
    );
    return nullability.columns(columnCount);
  }
}
