// Nullability of a query's result columns, read from the query itself (the parse tree
// PostgreSQL's own parser builds) and the catalog, never from a plan: every server version
// gives the same answer. A column is non-null only when pgts can show it:
//
// - a column of a table declared NOT NULL, reached through no null-extended side of a join
//   (the right of LEFT, the left of RIGHT, both of FULL): views, CTEs and subqueries in FROM
//   are analyzed the same way, a view through its definition (pg_get_viewdef);
// - literals, required parameters, and the expressions vetted.ts lists on non-null inputs;
// - aggregates under a GROUP BY (a group is never empty), count() everywhere.
//
// Anything pgts cannot follow (a function in FROM, an unknown function or operator, a
// field of a composite, a width it cannot match) is nullable. The caller overrides with
// "col!".
import type {
  A_Expr,
  CommonTableExpr,
  FuncCall,
  JoinExpr,
  Node,
  RangeVar,
  ResTarget,
  ReturningClause,
  SelectStmt,
  WithClause,
} from 'libpg-query';
import {
  aliasOf,
  columnName,
  functionName,
  names,
  qualifiedName,
  starOf,
  typeName,
} from './parse-tree.js';
import {
  both,
  concat,
  Ctes,
  EMPTY,
  naturalColumns,
  NO_CTES,
  nullExtended,
  renamed,
  single,
  UNKNOWN,
  unqualified,
  type Column,
  type Level,
  type Rel,
} from './scope.js';
import {
  ALWAYS_NON_NULL_FUNCTIONS,
  FIRST_ARGUMENT_FUNCTIONS,
  NON_EMPTY_AGGREGATES,
  NON_EMPTY_COLLECTING_AGGREGATES,
  NON_NULL_OPERATORS,
  NULLABLE_VALUE_FUNCTIONS,
  STRICT_NON_NULL_FUNCTIONS,
  TEXT_ONLY_FUNCTIONS,
  TEXT_RESULT_FUNCTIONS,
  TEXT_TYPES,
} from './vetted.js';

/** What the analysis needs to know about a relation (table, view...). */
export interface RelationFacts {
  columns: Array<{ name: string; notNull: boolean; textual: boolean }>;
  /** A view's (or materialized view's) defining query, parsed. */
  definition: Node | undefined;
}

/** What the analysis needs from the catalog, loaded beforehand (see sql-facts.ts). */
export interface SqlFacts {
  /** A relation as the query names it (schema optional: the search_path decides). */
  relation(schema: string | undefined, name: string): RelationFacts | undefined;
  /** Names given to functions, operators and cast targets outside pg_catalog: never vetted. */
  isUserFunction(name: string): boolean;
  isUserOperator(name: string): boolean;
  isUserCastTarget(typeName: string): boolean;
}

/**
 * For each result column of `statement`: whether it is non-null; undefined when pgts cannot
 * line its analysis up with the result (then every column is nullable).
 */
export function nonNullColumns(
  statement: Node,
  facts: SqlFacts,
  optionalParams: ReadonlySet<number>,
): boolean[] | undefined {
  return new Analysis(facts, optionalParams)
    .statement(statement, undefined, NO_CTES)
    ?.map((c) => c.nonNull);
}

interface Context {
  level: Level;
  /** Under GROUP BY (no grouping sets): every group has at least one row. */
  grouped: boolean;
  /** Grouping sets NULL the grouped columns in some rows. */
  groupingSets: boolean;
  insideAggregate: boolean;
}

class Analysis {
  private readonly views = new Map<RelationFacts, Column[]>();
  private readonly viewsInProgress = new Set<RelationFacts>();

  constructor(
    private readonly facts: SqlFacts,
    private readonly optionalParams: ReadonlySet<number>,
  ) {}

  statement(node: Node, outer: Level | undefined, ctes: Ctes): Column[] | undefined {
    if ('SelectStmt' in node) return this.select(node.SelectStmt, outer, ctes);
    if ('InsertStmt' in node) return this.returning(node.InsertStmt, [], outer, ctes);
    if ('UpdateStmt' in node) {
      return this.returning(node.UpdateStmt, node.UpdateStmt.fromClause ?? [], outer, ctes);
    }
    if ('DeleteStmt' in node) {
      return this.returning(node.DeleteStmt, node.DeleteStmt.usingClause ?? [], outer, ctes);
    }
    return undefined;
  }

  private select(stmt: SelectStmt, outer: Level | undefined, ctes: Ctes): Column[] | undefined {
    if (stmt.withClause !== undefined) ctes = this.with(stmt.withClause, outer, ctes);
    if ((stmt.op ?? 'SETOP_NONE') !== 'SETOP_NONE') {
      // UNION, INTERSECT, EXCEPT: non-null only when every branch is.
      if (stmt.larg === undefined || stmt.rarg === undefined) return undefined;
      const left = this.select(stmt.larg, outer, ctes);
      const right = this.select(stmt.rarg, outer, ctes);
      return left === undefined || right === undefined ? undefined : both(left, right);
    }
    if (stmt.valuesLists !== undefined) return this.values(stmt.valuesLists, outer, ctes);
    const from = this.fromList(stmt.fromClause ?? [], outer, ctes);
    const level: Level = { from, ctes, parent: outer };
    const groups = stmt.groupClause ?? [];
    const groupingSets = groups.some((g) => 'GroupingSet' in g);
    const context: Context = {
      level,
      grouped: groups.length > 0 && !groupingSets,
      groupingSets,
      insideAggregate: false,
    };
    return this.targets(stmt.targetList ?? [], context);
  }

  /** A target list or RETURNING list, `*` expanded. */
  private targets(list: Node[], context: Context): Column[] | undefined {
    const out: Column[] = [];
    for (const node of list) {
      if (!('ResTarget' in node)) return undefined;
      const target: ResTarget = node.ResTarget;
      const value = target.val;
      if (value === undefined) return undefined;
      const star = starOf(value);
      if (star !== undefined) {
        const expanded = this.expandStar(context.level.from, star.qualifier);
        if (expanded === undefined) return undefined;
        out.push(...expanded.map((c) => (context.groupingSets ? { ...c, nonNull: false } : c)));
        continue;
      }
      out.push({
        name: target.name ?? columnName(value) ?? '?column?',
        nonNull: this.nonNull(value, context),
        textual: this.textual(value, context),
      });
    }
    return out;
  }

  private expandStar(from: Rel, qualifier: string | undefined): Column[] | undefined {
    if (qualifier === undefined) return from.star;
    return from.items.find((i) => i.name === qualifier)?.columns;
  }

  private values(lists: Node[], outer: Level | undefined, ctes: Ctes): Column[] | undefined {
    const rows = lists.map((l) => ('List' in l ? (l.List.items ?? []) : []));
    const width = rows[0]?.length ?? 0;
    if (rows.some((r) => r.length !== width)) return undefined;
    const context: Context = {
      level: { from: EMPTY, ctes, parent: outer },
      grouped: false,
      groupingSets: false,
      insideAggregate: false,
    };
    return Array.from({ length: width }, (_, k) => ({
      name: `column${k + 1}`,
      nonNull: rows.every((r) => r[k] !== undefined && this.nonNull(r[k], context)),
      textual: rows.every((r) => r[k] !== undefined && this.textual(r[k], context)),
    }));
  }

  /** RETURNING of INSERT / UPDATE / DELETE: the target row, next to FROM / USING items. */
  private returning(
    stmt: { relation?: RangeVar; returningClause?: ReturningClause; withClause?: WithClause },
    others: Node[],
    outer: Level | undefined,
    ctes: Ctes,
  ): Column[] | undefined {
    const list = stmt.returningClause?.exprs;
    const target = stmt.relation;
    if (list === undefined) return [];
    if (target === undefined) return undefined;
    if (stmt.withClause !== undefined) ctes = this.with(stmt.withClause, outer, ctes);
    // The target is a table even where a CTE has its name.
    const table = this.relation(target, undefined);
    const from = concat(table, this.fromList(others, outer, ctes));
    return this.targets(list, {
      level: { from, ctes, parent: outer },
      grouped: false,
      groupingSets: false,
      insideAggregate: false,
    });
  }

  private with(clause: WithClause, outer: Level | undefined, ctes: Ctes): Ctes {
    const scope = new Ctes(ctes);
    for (const node of clause.ctes ?? []) {
      if (!('CommonTableExpr' in node)) continue;
      const cte: CommonTableExpr = node.CommonTableExpr;
      if (cte.ctename === undefined || cte.ctequery === undefined) continue;
      const aliases = names(cte.aliascolnames);
      const columns =
        clause.recursive === true
          ? this.recursive(cte.ctename, cte.ctequery, aliases, outer, scope)
          : renamed(this.statement(cte.ctequery, outer, scope), aliases);
      scope.set(cte.ctename, columns);
    }
    return scope;
  }

  /**
   * WITH RECURSIVE x AS (base UNION [ALL] step): a column is non-null when the base's is and
   * the step keeps it non-null given rows of x that are (induction). Found by iterating from
   * the base's answer down to a fixed point (a column only ever turns nullable).
   */
  private recursive(
    name: string,
    query: Node,
    aliases: string[] | undefined,
    outer: Level | undefined,
    scope: Ctes,
  ): Column[] | undefined {
    scope.set(name, undefined); // what x holds is unknown until found
    const union = 'SelectStmt' in query ? query.SelectStmt : undefined;
    if (union === undefined || (union.op ?? 'SETOP_NONE') !== 'SETOP_UNION') {
      return renamed(this.statement(query, outer, scope), aliases);
    }
    if (union.larg === undefined || union.rarg === undefined) return undefined;
    let current = renamed(this.select(union.larg, outer, scope), aliases);
    for (let round = 0; current !== undefined && round <= current.length; round++) {
      scope.set(name, current);
      const next = mapDefined(this.select(union.rarg, outer, scope), (step) =>
        both(current ?? [], step),
      );
      if (next === undefined) break;
      if (next.every((c, k) => c.nonNull === current?.[k]?.nonNull)) return next;
      current = next;
    }
    scope.set(name, undefined);
    return undefined;
  }

  // ---- FROM ----

  private fromList(list: Node[], outer: Level | undefined, ctes: Ctes): Rel {
    let from = EMPTY;
    for (const node of list) from = concat(from, this.fromItem(node, from, outer, ctes));
    return from;
  }

  /** One FROM item; `left` is what precedes it, visible to LATERAL. */
  private fromItem(node: Node, left: Rel, outer: Level | undefined, ctes: Ctes): Rel {
    if ('RangeVar' in node) return this.relation(node.RangeVar, ctes);
    if ('JoinExpr' in node) return this.join(node.JoinExpr, left, outer, ctes);
    if ('RangeSubselect' in node) {
      const sub = node.RangeSubselect;
      const scope = sub.lateral === true ? { from: left, ctes, parent: outer } : outer;
      const columns =
        sub.subquery === undefined ? undefined : this.statement(sub.subquery, scope, ctes);
      return single(sub.alias?.aliasname, renamed(columns, names(sub.alias?.colnames)));
    }
    if ('RangeFunction' in node) {
      // A function's columns are known only when the query lists them; never non-null.
      const fn = node.RangeFunction;
      const listed = fn.coldeflist?.flatMap((d) =>
        'ColumnDef' in d
          ? [{ name: d.ColumnDef.colname ?? '', nonNull: false, textual: false }]
          : [],
      );
      return single(fn.alias?.aliasname ?? functionName(fn.functions), listed);
    }
    if ('RangeTableSample' in node && node.RangeTableSample.relation !== undefined) {
      return this.fromItem(node.RangeTableSample.relation, left, outer, ctes);
    }
    return single(aliasOf(node), undefined);
  }

  /** A table, view or CTE (`ctes` undefined: a table or view, whatever CTEs there are). */
  private relation(rv: RangeVar, ctes: Ctes | undefined): Rel {
    const name = rv.relname ?? '';
    const cte = rv.schemaname === undefined ? ctes?.lookup(name) : undefined;
    let columns: Column[] | undefined;
    if (cte !== undefined) columns = cte.columns;
    else {
      const relation = this.facts.relation(rv.schemaname, name);
      columns = relation === undefined ? undefined : this.relationColumns(relation);
    }
    return single(rv.alias?.aliasname ?? name, renamed(columns, names(rv.alias?.colnames)));
  }

  /** A table's columns from the catalog; a view's from its definition. */
  private relationColumns(relation: RelationFacts): Column[] {
    const fromCatalog = relation.columns.map((c) => ({
      name: c.name,
      nonNull: c.notNull && relation.definition === undefined,
      textual: c.textual,
    }));
    if (relation.definition === undefined) return fromCatalog;
    let columns = this.views.get(relation);
    if (columns !== undefined) return columns;
    if (this.viewsInProgress.has(relation)) return fromCatalog;
    this.viewsInProgress.add(relation);
    const analyzed = this.statement(relation.definition, undefined, NO_CTES);
    this.viewsInProgress.delete(relation);
    columns =
      analyzed?.length === fromCatalog.length
        ? fromCatalog.map((c, k) => ({ ...c, nonNull: analyzed[k]?.nonNull === true }))
        : fromCatalog;
    this.views.set(relation, columns);
    return columns;
  }

  private join(join: JoinExpr, left: Rel, outer: Level | undefined, ctes: Ctes): Rel {
    if (join.larg === undefined || join.rarg === undefined) return single(undefined, undefined);
    let l = this.fromItem(join.larg, left, outer, ctes);
    let r = this.fromItem(join.rarg, concat(left, l), outer, ctes);
    const type = join.jointype ?? 'JOIN_INNER';
    const using = join.isNatural === true ? naturalColumns(l, r) : names(join.usingClause);
    // A merged column is the value of the side that is there: the left one's, the right one's
    // for RIGHT, either's for FULL (COALESCE). So it is judged before null-extension.
    const merged = (using ?? []).map((name): Column => {
      const a = l.star?.find((c) => c.name === name) ?? UNKNOWN;
      const b = r.star?.find((c) => c.name === name) ?? UNKNOWN;
      const nonNull =
        type === 'JOIN_FULL'
          ? a.nonNull && b.nonNull
          : type === 'JOIN_RIGHT'
            ? b.nonNull
            : a.nonNull;
      return { name, nonNull, textual: a.textual && b.textual };
    });
    if (type === 'JOIN_LEFT' || type === 'JOIN_FULL') r = nullExtended(r);
    if (type === 'JOIN_RIGHT' || type === 'JOIN_FULL') l = nullExtended(l);
    let joined = concat(l, r);
    if (using !== undefined && using.length > 0) {
      const rest = (side: Rel): Column[] | undefined =>
        side.star?.filter((c) => !using.includes(c.name));
      const lRest = rest(l);
      const rRest = rest(r);
      joined = {
        star:
          lRest === undefined || rRest === undefined ? undefined : [...merged, ...lRest, ...rRest],
        items: joined.items,
        merged: [...joined.merged, ...merged],
      };
      const usingAlias = join.join_using_alias?.aliasname;
      if (usingAlias !== undefined) {
        joined.items.push({ name: usingAlias, columns: merged, nullExtended: false });
      }
    }
    // An aliased join hides the names inside it.
    const alias = join.alias?.aliasname;
    if (alias === undefined) return joined;
    return single(alias, renamed(joined.star, names(join.alias?.colnames)));
  }

  // ---- expressions ----

  private nonNull(node: Node, context: Context): boolean {
    if ('A_Const' in node) return node.A_Const.isnull !== true;
    if ('ParamRef' in node) return !this.optionalParams.has(node.ParamRef.number ?? 0);
    if ('ColumnRef' in node) {
      if (context.groupingSets && !context.insideAggregate) return false;
      return this.column(node.ColumnRef.fields ?? [], context.level).nonNull;
    }
    if ('TypeCast' in node) {
      const arg = node.TypeCast.arg;
      const type = typeName(node.TypeCast.typeName);
      if (type === undefined || this.facts.isUserCastTarget(type)) return false;
      return arg !== undefined && this.nonNull(arg, context);
    }
    if ('CollateClause' in node) {
      const arg = node.CollateClause.arg;
      return arg !== undefined && this.nonNull(arg, context);
    }
    if ('A_Expr' in node) return this.operatorNonNull(node.A_Expr, context);
    if ('BoolExpr' in node) return this.all(node.BoolExpr.args, context);
    if ('NullTest' in node || 'BooleanTest' in node) return true;
    if ('FuncCall' in node) return this.callNonNull(node.FuncCall, context);
    if ('CoalesceExpr' in node) return this.any(node.CoalesceExpr.args, context);
    if ('MinMaxExpr' in node) return this.any(node.MinMaxExpr.args, context); // NULLs skipped
    if ('CaseExpr' in node) {
      const c = node.CaseExpr;
      const results = (c.args ?? []).map((w) => ('CaseWhen' in w ? w.CaseWhen.result : undefined));
      return (
        c.defresult !== undefined &&
        this.nonNull(c.defresult, context) &&
        results.every((r) => r !== undefined && this.nonNull(r, context))
      );
    }
    if ('SubLink' in node) {
      const link = node.SubLink;
      switch (link.subLinkType) {
        case 'EXISTS_SUBLINK':
        case 'ARRAY_SUBLINK':
          return true;
        case 'EXPR_SUBLINK':
          return link.subselect !== undefined && this.scalarSubquery(link.subselect, context.level);
        case 'ANY_SUBLINK': // x IN (select ...): NULL when a compared value is
        case 'ALL_SUBLINK':
        case 'ROWCOMPARE_SUBLINK':
        case 'MULTIEXPR_SUBLINK':
        case 'CTE_SUBLINK':
        case undefined:
          return false;
      }
    }
    if ('A_ArrayExpr' in node || 'RowExpr' in node || 'GroupingFunc' in node) return true;
    if ('SQLValueFunction' in node) {
      return !NULLABLE_VALUE_FUNCTIONS.has(node.SQLValueFunction.op ?? '');
    }
    // Subscripts and field selection (A_Indirection), XML and JSON constructors...
    return false;
  }

  private all(args: Node[] | undefined, context: Context): boolean {
    return (args ?? []).every((a) => this.nonNull(a, context));
  }

  private any(args: Node[] | undefined, context: Context): boolean {
    return (args ?? []).some((a) => this.nonNull(a, context));
  }

  /** An operand of a comparison: a row constructor compares as NULL when a field is NULL. */
  private operandNonNull(node: Node | undefined, context: Context): boolean {
    if (node === undefined) return true; // the missing side of a prefix operator
    if ('RowExpr' in node) return this.all(node.RowExpr.args, context);
    if ('List' in node)
      return (node.List.items ?? []).every((i) => this.operandNonNull(i, context));
    return this.nonNull(node, context);
  }

  private operatorNonNull(e: A_Expr, context: Context): boolean {
    const operands = (): boolean =>
      this.operandNonNull(e.lexpr, context) && this.operandNonNull(e.rexpr, context);
    switch (e.kind) {
      case 'AEXPR_OP': {
        const { schema, name } = qualifiedName(e.name);
        const trusted =
          schema === 'pg_catalog' || (schema === undefined && !this.facts.isUserOperator(name));
        return trusted && NON_NULL_OPERATORS.has(name) && operands();
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT':
        return true;
      case 'AEXPR_IN':
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
      case 'AEXPR_SIMILAR':
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM':
        return !this.facts.isUserOperator(qualifiedName(e.name).name) && operands();
      case 'AEXPR_NULLIF':
      case 'AEXPR_OP_ANY': // = ANY (array): NULL when the array holds a NULL
      case 'AEXPR_OP_ALL':
      case undefined:
        break;
    }
    return false;
  }

  private callNonNull(call: FuncCall, context: Context): boolean {
    const { schema, name } = qualifiedName(call.funcname);
    const trusted =
      schema === 'pg_catalog' || (schema === undefined && !this.facts.isUserFunction(name));
    if (!trusted) return false;
    const args = call.args ?? [];
    if (call.over !== undefined) {
      // A window function: the ranking ones and count never give NULL.
      if (ALWAYS_NON_NULL_FUNCTIONS.has(name)) return true;
      return name === 'ntile' && this.all(args, context);
    }
    if (name === 'count') return true;
    if (NON_EMPTY_AGGREGATES.has(name) || NON_EMPTY_COLLECTING_AGGREGATES.has(name)) {
      // Over no row at all (no GROUP BY, or a FILTER that keeps none) they are NULL.
      if (!context.grouped || call.agg_filter !== undefined || call.agg_within_group === true) {
        return false;
      }
      if (NON_EMPTY_COLLECTING_AGGREGATES.has(name)) return true;
      return this.all(args, { ...context, insideAggregate: true });
    }
    if (ALWAYS_NON_NULL_FUNCTIONS.has(name)) return true;
    if (FIRST_ARGUMENT_FUNCTIONS.has(name)) {
      return args[0] !== undefined && this.nonNull(args[0], context);
    }
    if (TEXT_ONLY_FUNCTIONS.has(name)) {
      const arg = args[0];
      return (
        args.length === 1 &&
        arg !== undefined &&
        this.textual(arg, context) &&
        this.nonNull(arg, context)
      );
    }
    return STRICT_NON_NULL_FUNCTIONS.has(name) && this.all(args, context);
  }

  /** Known to be text, never a range. */
  private textual(node: Node, context: Context): boolean {
    if ('A_Const' in node) return node.A_Const.sval !== undefined;
    if ('TypeCast' in node) {
      const type = node.TypeCast.typeName;
      return (type?.arrayBounds ?? []).length === 0 && TEXT_TYPES.has(typeName(type) ?? '');
    }
    if ('ColumnRef' in node) return this.column(node.ColumnRef.fields ?? [], context.level).textual;
    if ('CollateClause' in node) {
      const arg = node.CollateClause.arg;
      return arg !== undefined && this.textual(arg, context);
    }
    if ('FuncCall' in node) {
      const { schema, name } = qualifiedName(node.FuncCall.funcname);
      if (schema !== undefined && schema !== 'pg_catalog') return false;
      if (schema === undefined && this.facts.isUserFunction(name)) return false;
      if (TEXT_RESULT_FUNCTIONS.has(name)) return true;
      const arg = node.FuncCall.args?.[0];
      return TEXT_ONLY_FUNCTIONS.has(name) && arg !== undefined && this.textual(arg, context);
    }
    return false;
  }

  /**
   * A scalar subquery is non-null when it always yields exactly one row, with a non-null
   * value: an aggregate without GROUP BY (`(select count(*) from t)`), or a SELECT without
   * FROM and WHERE (`(select 1)`). Anything else may yield no row: NULL.
   */
  private scalarSubquery(node: Node, level: Level): boolean {
    if (!('SelectStmt' in node)) return false;
    const s = node.SelectStmt;
    const plain =
      (s.op ?? 'SETOP_NONE') === 'SETOP_NONE' &&
      s.valuesLists === undefined &&
      s.groupClause === undefined &&
      s.havingClause === undefined &&
      s.limitCount === undefined &&
      s.limitOffset === undefined;
    const target = s.targetList?.[0];
    if (!plain || s.targetList?.length !== 1 || target === undefined || !('ResTarget' in target)) {
      return false;
    }
    const value = target.ResTarget.val;
    if (value === undefined) return false;
    const noFrom = s.fromClause === undefined && s.whereClause === undefined;
    if (!noFrom && !containsAggregate(value)) return false;
    const columns = this.select(s, level, level.ctes);
    return columns?.[0]?.nonNull === true;
  }

  /** Resolves a column reference (`name`, `t.name`, `s.t.name`) through the query levels. */
  private column(fields: Node[], level: Level | undefined): Column {
    const parts = fields.map((f) => ('String' in f ? f.String.sval : undefined));
    if (parts.some((p) => p === undefined)) return UNKNOWN;
    const path = parts as string[];
    const column = path.at(-1) ?? '';
    const qualifier = path.at(-2);
    for (let l = level; l !== undefined; l = l.parent) {
      if (qualifier === undefined) {
        const found = unqualified(l.from, column);
        if (found !== 'absent') return found;
      } else {
        const item = l.from.items.find((i) => i.name === qualifier);
        // Not a column of it: attribute notation of a function (t.f is f(t)).
        if (item !== undefined) return item.columns?.find((c) => c.name === column) ?? UNKNOWN;
      }
    }
    return UNKNOWN; // a field of a composite column, or something pgts does not follow
  }
}

/** Whether an aggregate is called in `node` (not counting subqueries): one row per group. */
function containsAggregate(node: unknown): boolean {
  if (typeof node !== 'object' || node === null) return false;
  if (Array.isArray(node)) return node.some(containsAggregate);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'SubLink') continue;
    if (key === 'FuncCall') {
      const call = value as FuncCall;
      const { name } = qualifiedName(call.funcname);
      const aggregate =
        name === 'count' ||
        NON_EMPTY_AGGREGATES.has(name) ||
        NON_EMPTY_COLLECTING_AGGREGATES.has(name);
      if (aggregate && call.over === undefined) return true;
    }
    if (containsAggregate(value)) return true;
  }
  return false;
}

function mapDefined<T, U>(value: T | undefined, f: (value: T) => U): U | undefined {
  return value === undefined ? undefined : f(value);
}
