// Small readers of PostgreSQL parse tree nodes (libpg-query's JSON): names, and the names
// PostgreSQL gives unaliased result columns.
import type { Alias, Node, TypeName } from 'libpg-query';

export function names(list: Node[] | undefined): string[] | undefined {
  return list?.map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
}

export function qualifiedName(list: Node[] | undefined): {
  schema: string | undefined;
  name: string;
} {
  const parts = names(list) ?? [];
  return { schema: parts.length > 1 ? parts[0] : undefined, name: parts.at(-1) ?? '' };
}

export function typeName(type: TypeName | undefined): string | undefined {
  return names(type?.names)?.at(-1);
}

export function starOf(node: Node): { qualifier: string | undefined } | undefined {
  if (!('ColumnRef' in node)) return undefined;
  const fields = node.ColumnRef.fields ?? [];
  const last = fields.at(-1);
  if (last === undefined || !('A_Star' in last)) return undefined;
  const qualifier = fields.at(-2);
  return {
    qualifier: qualifier !== undefined && 'String' in qualifier ? qualifier.String.sval : undefined,
  };
}

export function functionName(functions: Node[] | undefined): string | undefined {
  const first = functions?.[0];
  const call = first !== undefined && 'List' in first ? first.List.items?.[0] : undefined;
  return call !== undefined && 'FuncCall' in call
    ? qualifiedName(call.FuncCall.funcname).name
    : undefined;
}

export function aliasOf(node: Node): string | undefined {
  const alias = (Object.values(node)[0] as { alias?: Alias } | undefined)?.alias;
  return alias?.aliasname;
}

const VALUE_FUNCTION_NAMES: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

/**
 * The name PostgreSQL gives an unaliased result column (its FigureColname), for the cases
 * pgts follows; undefined where PostgreSQL says ?column?. A subquery's or CTE's columns are
 * found by these names: a name pgts gets wrong can only fail to match, or match twice, and
 * both make the column nullable.
 */
export function columnName(node: Node): string | undefined {
  if ('ColumnRef' in node) {
    const last = node.ColumnRef.fields?.at(-1);
    return last !== undefined && 'String' in last ? last.String.sval : undefined;
  }
  if ('A_Indirection' in node) {
    const last = node.A_Indirection.indirection?.at(-1);
    if (last !== undefined && 'String' in last) return last.String.sval;
    return node.A_Indirection.arg === undefined ? undefined : columnName(node.A_Indirection.arg);
  }
  if ('FuncCall' in node) return qualifiedName(node.FuncCall.funcname).name;
  if ('TypeCast' in node) {
    const arg = node.TypeCast.arg;
    return (arg === undefined ? undefined : columnName(arg)) ?? typeName(node.TypeCast.typeName);
  }
  if ('CollateClause' in node) {
    const arg = node.CollateClause.arg;
    return arg === undefined ? undefined : columnName(arg);
  }
  if ('A_Expr' in node && node.A_Expr.kind === 'AEXPR_NULLIF') return 'nullif';
  if ('SubLink' in node) {
    const link = node.SubLink;
    if (link.subLinkType === 'EXISTS_SUBLINK') return 'exists';
    if (link.subLinkType === 'ARRAY_SUBLINK') return 'array';
    return undefined;
  }
  if ('CaseExpr' in node) return 'case';
  if ('A_ArrayExpr' in node) return 'array';
  if ('RowExpr' in node) return 'row';
  if ('CoalesceExpr' in node) return 'coalesce';
  if ('MinMaxExpr' in node) return node.MinMaxExpr.op === 'IS_LEAST' ? 'least' : 'greatest';
  if ('GroupingFunc' in node) return 'grouping';
  if ('SQLValueFunction' in node) return VALUE_FUNCTION_NAMES[node.SQLValueFunction.op ?? ''];
  return undefined;
}
