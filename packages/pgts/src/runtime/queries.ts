// The compile-time side of the runtime API. `Queries` is empty here; `pgts generate` writes a
// declaration file that augments it with one entry per query found in the sources, keyed by
// the exact SQL text. A call whose SQL is not a key does not compile.

/**
 * Every generated query: `{ params: {...}; row: {...} }` keyed by its SQL text.
 * Augmented by the file `pgts generate` writes.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface Queries {}

/** A JSON value as json and jsonb columns hold it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The SQL text of a generated query. */
export type QueryText = Extract<keyof Queries, string>;

export type ParamsOf<S extends QueryText> = Queries[S] extends { params: infer P } ? P : never;
export type RowOf<S extends QueryText> = Queries[S] extends { row: infer R } ? R : never;

/** The parameters argument: optional when the query has no required parameter. */
export type ParamArgs<S extends QueryText> =
  Record<string, never> extends ParamsOf<S> ? [params?: ParamsOf<S>] : [params: ParamsOf<S>];

/** What a connection, a pool and a transaction all offer. */
export interface Queryable {
  /** All rows. */
  query<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<Array<RowOf<S>>>;
  /** Exactly one row, else RowCountError. */
  one<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<RowOf<S>>;
  /** Zero or one row (undefined for none), else RowCountError. */
  maybeOne<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<RowOf<S> | undefined>;
  /** Runs a command and returns the number of rows it affected. */
  execute<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<number>;
}
