// Describes one query: its parameters and result columns with TypeScript types and
// nullability. Parse + Describe gives types and column origins; the query's parse tree and
// the catalog give nullability (nullability.ts).
import { rewritePlaceholders, type RewrittenSql } from '@tsvirt/pgts';
import { splitOverride, type ParamKind } from '@tsvirt/pgts/internal';
import type { SchemaConnection } from '../describe/connection.js';
import { PostgresError } from '../describe/connection.js';
import { DescribeError } from '../errors.js';
import { checkPlaceholders } from '../sql/check-placeholders.js';
import { parserRunsHere, parseStatement } from '../sql/parser.js';
import { Catalog } from './catalog.js';
import { nonNullColumns } from './nullability.js';
import { SqlFactsLoader } from './sql-facts.js';
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
  private readonly facts: SqlFactsLoader;

  constructor(
    private readonly db: SchemaConnection,
    options: TypeMappingOptions,
    /** Without PostgreSQL's parser (big-endian hosts) every result column is nullable. */
    private readonly parser = parserRunsHere(),
  ) {
    this.catalog = new Catalog(db);
    this.types = new TypeMapper(this.catalog, options);
    this.facts = new SqlFactsLoader(this.catalog);
  }

  /** Throws DescribeError (with an offset into `sql` when known) when PostgreSQL refuses it. */
  async analyze(sql: string): Promise<QueryShape> {
    const rewritten = rewritePlaceholders(sql);
    if (this.parser) await checkPlaceholders(rewritten);
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
    const nonNull = columns.length === 0 ? [] : await this.nonNull(rewritten, columns.length);

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
        nullable: override === '!' ? false : override === '?' ? true : nonNull?.[k] !== true,
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

  /**
   * Which result columns are non-null; undefined when the analysis cannot tell (a statement
   * the parser of this pgts version does not read, a result it cannot line up with the
   * `count` columns PostgreSQL described).
   */
  private async nonNull(rewritten: RewrittenSql, count: number): Promise<boolean[] | undefined> {
    if (!this.parser) return undefined;
    let statement;
    try {
      statement = await parseStatement(rewritten.text);
    } catch {
      return undefined;
    }
    if (statement === undefined) return undefined;
    const optional = new Set(
      rewritten.params.filter((p) => p.kind === 'optional').map((p) => p.index),
    );
    const nonNull = nonNullColumns(statement, await this.facts.load(statement), optional);
    return nonNull?.length === count ? nonNull : undefined;
  }
}
