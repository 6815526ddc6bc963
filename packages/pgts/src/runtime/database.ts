// The typed query API over any driver: named placeholders are rewritten once per SQL text,
// parameters are always bound (never spliced into the text), results are decoded by the
// same rules the generated types describe.
import { createHash } from 'node:crypto';
import { ParameterError, RowCountError } from '../errors.js';
import { splitOverride } from '../sql/column-override.js';
import { rewritePlaceholders, type RewrittenSql } from '../sql/placeholders.js';
import { ValueDecoder, type DecodeOptions, type Decoder, type RuntimeTypeInfo } from './decode.js';
import type { Driver, RawResult } from './driver.js';
import { guarded, settled, unsettled } from './exit-guard.js';
import type { ParamArgs, Queryable, QueryText, RowOf } from './queries.js';

export type DatabaseOptions = DecodeOptions;

interface Statement {
  name: string;
  rewritten: RewrittenSql;
  /** How its rows are read, made when its first result arrives. */
  reader?: RowReader;
}

/** A result's columns: the type OIDs it was made for, the row keys and the decoders. */
interface RowReader {
  oids: number[];
  keys: string[];
  decoders: Decoder[];
}

/** Shared by a database and its transactions: statement cache and type decoders. */
class Shared {
  readonly statements = new Map<string, Statement>();
  readonly decoder: ValueDecoder;

  constructor(options: DatabaseOptions) {
    this.decoder = new ValueDecoder(options);
  }

  statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      const rewritten = rewritePlaceholders(sql);
      // Named after the text PostgreSQL sees: the same name is always the same statement.
      const hash = createHash('sha1').update(rewritten.text).digest('hex').slice(0, 20);
      statement = { name: `pgts_${hash}`, rewritten };
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

class Session implements Queryable {
  constructor(
    protected readonly driver: Driver,
    protected readonly shared: Shared,
  ) {}

  async query<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<Array<RowOf<S>>> {
    return (await this.run(sql, params[0])).rows as Array<RowOf<S>>;
  }

  async one<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<RowOf<S>> {
    const { rows } = await this.run(sql, params[0]);
    if (rows.length !== 1) throw new RowCountError('exactly 1', rows.length, sql);
    return rows[0] as RowOf<S>;
  }

  async maybeOne<S extends QueryText>(
    sql: S,
    ...params: ParamArgs<S>
  ): Promise<RowOf<S> | undefined> {
    const { rows } = await this.run(sql, params[0]);
    if (rows.length > 1) throw new RowCountError('0 or 1', rows.length, sql);
    return rows[0] as RowOf<S> | undefined;
  }

  async execute<S extends QueryText>(sql: S, ...params: ParamArgs<S>): Promise<number> {
    return (await this.run(sql, params[0])).rowCount;
  }

  private async run(
    sql: string,
    params: unknown,
  ): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }> {
    const inFlight = unsettled({ kind: 'query', sql });
    try {
      const statement = this.shared.statement(sql);
      const values = bindValues(statement.rewritten, (params ?? {}) as Record<string, unknown>);
      const raw = await this.driver.run(statement.name, statement.rewritten.text, values);
      const reader = await this.reader(statement, raw.fields);
      const { keys, decoders } = reader;
      const rows = raw.rows.map((values) => {
        const row: Record<string, unknown> = {};
        for (let k = 0; k < keys.length; k++) {
          const value = values[k];
          row[keys[k] as string] =
            value === null || value === undefined ? null : (decoders[k] as Decoder)(value);
        }
        return row;
      });
      return { rows, rowCount: raw.rowCount };
    } finally {
      settled(inFlight);
    }
  }

  /** The statement's row reader, made (and its types looked up) for its first result. */
  private async reader(statement: Statement, fields: RawResult['fields']): Promise<RowReader> {
    const known = statement.reader;
    if (
      known?.oids.length === fields.length &&
      fields.every((f, k) => f.typeOid === known.oids[k])
    ) {
      return known;
    }
    const oids = fields.map((f) => f.typeOid);
    // Types met for the first time are looked up on this session's own connection: inside a
    // transaction that is the transaction (PGlite's lock, or a pool's only client, is held).
    await this.shared.decoder.prepare(oids, (missing) => lookupTypes(this.driver, missing));
    statement.reader = {
      oids,
      keys: fields.map((f) => splitOverride(f.name).name),
      decoders: oids.map((oid) => this.shared.decoder.decoder(oid)),
    };
    return statement.reader;
  }
}

/** A transaction: the same calls, on one connection, between BEGIN and COMMIT. */
export type Transaction = Queryable;

export class Database extends Session {
  constructor(driver: Driver, options: DatabaseOptions = {}) {
    super(driver, new Shared(options));
  }

  /** Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return guarded({ kind: 'transaction' }, () =>
      this.driver.transaction((driver) => fn(new Session(driver, this.shared))),
    );
  }
}

/** Positional values for the rewritten statement; a missing required value is an error. */
function bindValues(rewritten: RewrittenSql, params: Record<string, unknown>): unknown[] {
  return rewritten.params.map((p) => {
    const value = params[p.name];
    if (p.kind === 'optional') return value ?? null;
    if (value === undefined || value === null) {
      throw new ParameterError(
        `parameter $${p.kind === 'list' ? '@' : ''}${p.name} is missing (use $?${p.name} for an optional one)`,
      );
    }
    if (p.kind === 'list' && !Array.isArray(value)) {
      throw new ParameterError(`parameter $@${p.name} must be an array`);
    }
    return value;
  });
}

async function lookupTypes(driver: Driver, oids: number[]): Promise<RuntimeTypeInfo[]> {
  const result = await driver.run(
    'pgts_types',
    `select t.oid::int, t.typname::text, t.typtype::text, t.typcategory::text, t.typelem::int,
            t.typbasetype::int,
            (select json_agg(json_build_object('name', a.attname, 'typeOid', a.atttypid::int)
                             order by a.attnum)
               from pg_attribute a
              where t.typtype = 'c' and a.attrelid = t.typrelid and a.attnum > 0
                and not a.attisdropped)::text
       from pg_type t where t.oid::int = any($1::int[])`,
    [oids],
  );
  return result.rows.map(([oid, name, kind, category, elem, base, fields]) => ({
    oid: Number(oid),
    name: name ?? '',
    kind: kind ?? 'b',
    category: category ?? 'U',
    elem: Number(elem),
    base: Number(base),
    fields:
      fields === null || fields === undefined
        ? null
        : (JSON.parse(fields) as Array<{ name: string; typeOid: number }>),
  }));
}
