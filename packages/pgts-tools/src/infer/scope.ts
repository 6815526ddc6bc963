// The names a query level can see: the FROM items (tables, views, subqueries, CTEs,
// joins), with what pgts knows of their columns, and the CTEs in scope. Used by
// nullability.ts to resolve column references the way PostgreSQL does.

/** A column as pgts knows it. */
export interface Column {
  name: string;
  nonNull: boolean;
  /** Known to be text (not a range): `lower` and `upper` of it are non-null. */
  textual: boolean;
}

/** A FROM item that can be named (a table, a subquery, a CTE, an aliased join). */
export interface Item {
  name: string | undefined;
  /** Undefined when pgts cannot know them (a function in FROM). */
  columns: Column[] | undefined;
  nullExtended: boolean;
}

/** What a FROM clause (or a join inside it) provides. */
export interface Rel {
  /** What `*` expands to, in order; undefined when some item's columns are unknown. */
  star: Column[] | undefined;
  items: Item[];
  /** Columns merged by JOIN ... USING / NATURAL JOIN: unqualified, they mean these. */
  merged: Column[];
}

/** One query level: its FROM clause and CTEs, and the enclosing query's level. */
export interface Level {
  from: Rel;
  ctes: Ctes;
  parent: Level | undefined;
}

/** CTEs in scope, innermost first. */
export class Ctes {
  private readonly own = new Map<string, Column[] | undefined>();

  constructor(private readonly parent: Ctes | undefined) {}

  set(name: string, columns: Column[] | undefined): void {
    this.own.set(name, columns);
  }

  lookup(name: string): { columns: Column[] | undefined } | undefined {
    return this.own.has(name) ? { columns: this.own.get(name) } : this.parent?.lookup(name);
  }
}

export const EMPTY: Rel = { star: [], items: [], merged: [] };
export const NO_CTES = new Ctes(undefined);

/** A column reference pgts cannot resolve, or a column it knows nothing about. */
export const UNKNOWN: Column = { name: '?column?', nonNull: false, textual: false };

/** Looks a bare name up in one FROM clause. */
export function unqualified(from: Rel, name: string): Column | 'absent' {
  const merged = from.merged.find((c) => c.name === name);
  if (merged !== undefined) return merged;
  const matches = from.items.flatMap((i) => i.columns?.filter((c) => c.name === name) ?? []);
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) return UNKNOWN;
  if (from.items.some((i) => i.columns === undefined)) return UNKNOWN; // may be in there
  // A whole row (`select t from t`): NULL only when the row is null-extended.
  const item = from.items.find((i) => i.name === name);
  if (item !== undefined) return { name, nonNull: !item.nullExtended, textual: false };
  return 'absent';
}

export function single(name: string | undefined, columns: Column[] | undefined): Rel {
  return { star: columns, items: [{ name, columns, nullExtended: false }], merged: [] };
}

export function concat(a: Rel, b: Rel): Rel {
  return {
    star: a.star === undefined || b.star === undefined ? undefined : [...a.star, ...b.star],
    items: [...a.items, ...b.items],
    merged: [...a.merged, ...b.merged],
  };
}

export function nullExtended(rel: Rel): Rel {
  const nullable = (columns: Column[] | undefined): Column[] | undefined =>
    columns?.map((c) => ({ ...c, nonNull: false }));
  return {
    star: nullable(rel.star),
    items: rel.items.map((i) => ({ ...i, columns: nullable(i.columns), nullExtended: true })),
    merged: nullable(rel.merged) ?? [],
  };
}

export function both(a: Column[], b: Column[]): Column[] | undefined {
  if (a.length !== b.length) return undefined;
  return a.map((c, k) => ({
    name: c.name,
    nonNull: c.nonNull && b[k]?.nonNull === true,
    textual: c.textual && b[k]?.textual === true,
  }));
}

export function naturalColumns(l: Rel, r: Rel): string[] | undefined {
  if (l.star === undefined || r.star === undefined) return undefined;
  const right = new Set(r.star.map((c) => c.name));
  return l.star.map((c) => c.name).filter((n) => right.has(n));
}

/** Columns renamed by an alias list (`t(a, b)`), the rest keeping their names. */
export function renamed(
  columns: Column[] | undefined,
  aliases: string[] | undefined,
): Column[] | undefined {
  if (columns === undefined || aliases === undefined) return columns;
  return columns.map((c, k) => ({ ...c, name: aliases[k] ?? c.name }));
}
