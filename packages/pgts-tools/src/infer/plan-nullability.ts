// Nullability of result columns from the query's generic plan (EXPLAIN VERBOSE, FORMAT JSON).
//
// The planner has already inlined views, pulled up subqueries and non-materialized CTEs, and
// turned RIGHT joins into LEFT ones with the children swapped, so the plan is where the truth
// is: a column is non-null when it comes from a NOT NULL column of a relation scanned on a
// side of every join that is never null-extended, or from an expression that cannot yield
// NULL given its inputs. The plan is generic (parameters stay $n), so NULL parameters cannot
// fold it away.
import { tokenize, type Token } from './expression-tokens.js';

export interface PlanNode {
  'Node Type': string;
  'Join Type'?: string;
  'Parent Relationship'?: string;
  'Relation Name'?: string;
  Schema?: string;
  Alias?: string;
  'CTE Name'?: string;
  'Subplan Name'?: string;
  Strategy?: string;
  'Group Key'?: string[];
  'Grouping Sets'?: unknown[];
  Output?: string[];
  Plans?: PlanNode[];
}

/** NOT NULL facts about the relations a plan scans. */
export interface NotNullLookup {
  /** Whether schema.relation.column is NOT NULL; undefined when unknown. */
  isNotNull(schema: string, relation: string, column: string): boolean | undefined;
}

interface ScanInfo {
  node: PlanNode;
  nullExtended: boolean;
}

/** Relations (schema, name) a plan scans, to fetch their NOT NULL columns beforehand. */
export function scannedRelations(plan: PlanNode): Array<{ schema: string; relation: string }> {
  const out: Array<{ schema: string; relation: string }> = [];
  const walk = (node: PlanNode): void => {
    if (node['Relation Name'] !== undefined && node.Schema !== undefined) {
      out.push({ schema: node.Schema, relation: node['Relation Name'] });
    }
    node.Plans?.forEach(walk);
  };
  walk(plan);
  return out;
}

const ALWAYS_NON_NULL_FUNCTIONS = new Set([
  'count',
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
  'ntile',
  'now',
  'concat',
  'concat_ws',
  'statement_timestamp',
  'transaction_timestamp',
  'clock_timestamp',
  'gen_random_uuid',
  'random',
  'pg_backend_pid',
  'array',
  'row',
]);

/**
 * Aggregates that are non-null over a non-empty group of non-null inputs (or always, for the
 * array and JSON ones). A GROUP BY group is never empty; a whole table may be.
 */
const GROUP_AGGREGATES = new Set([
  'max',
  'min',
  'sum',
  'avg',
  'string_agg',
  'bool_and',
  'bool_or',
  'every',
  'bit_and',
  'bit_or',
]);
const ALWAYS_IN_GROUP = new Set([
  'array_agg',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
]);

/** Nodes that pass their input's rows through (so an aggregate below still shapes them). */
const PASS_THROUGH = new Set([
  'Sort',
  'Incremental Sort',
  'Limit',
  'Unique',
  'Result',
  'Gather',
  'Gather Merge',
  'Materialize',
  'Memoize',
  'WindowAgg',
  'LockRows',
]);

/** Non-null as soon as one argument is non-null. */
const ANY_ARGUMENT_FUNCTIONS = new Set(['coalesce', 'greatest', 'least']);

/** Strict functions that return non-null for non-null arguments. */
const STRICT_FUNCTIONS = new Set([
  'lower',
  'upper',
  'length',
  'char_length',
  'octet_length',
  'trim',
  'btrim',
  'ltrim',
  'rtrim',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'md5',
  'replace',
  'substr',
  'substring',
  'left',
  'right',
  'date_trunc',
  'date_part',
  'extract',
  'to_char',
  'format',
  'initcap',
  'lpad',
  'rpad',
  'repeat',
  'reverse',
  'age',
  'mod',
  'sign',
  'sqrt',
  'power',
  'cardinality',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'to_jsonb',
  'to_json',
  'row_to_json',
]);

const CONSTANT_KEYWORDS = new Set([
  'true',
  'false',
  'current_timestamp',
  'current_date',
  'current_time',
  'localtimestamp',
  'localtime',
  'current_user',
  'session_user',
  'current_role',
  'current_catalog',
  'current_schema',
]);

export class PlanNullability {
  private readonly scans = new Map<string, ScanInfo>();
  private readonly ctes = new Map<string, PlanNode>();
  /** InitPlan/SubPlan nodes by the name their results are printed with ($0, "InitPlan 1", "SubPlan 2"). */
  private readonly subplans = new Map<string, PlanNode>();
  private readonly relationScans: PlanNode[] = [];
  /** Whether the output being judged is computed over GROUP BY groups (never empty). */
  private grouped = false;

  constructor(
    private readonly root: PlanNode,
    private readonly notNull: NotNullLookup,
    /** $n parameters that may be NULL (the optional ones). */
    private readonly nullableParams: ReadonlySet<number>,
  ) {
    this.walk(root, false);
  }

  /** For each of the first `count` result columns: true when it can be NULL. */
  columns(count: number): boolean[] {
    const out: boolean[] = [];
    for (let k = 0; k < count; k++) out.push(!this.outputNonNull(this.root, k, 0));
    return out;
  }

  private walk(node: PlanNode, nullExtended: boolean): void {
    const relationship = node['Parent Relationship'];
    const subplanName = node['Subplan Name'];
    if (relationship === 'InitPlan' || relationship === 'SubPlan') {
      // A subplan is its own scope: its result is judged where it is used.
      nullExtended = false;
      if (subplanName !== undefined) this.registerSubplan(subplanName, node);
    }
    if (node.Alias !== undefined) this.scans.set(node.Alias, { node, nullExtended });
    if (node['Relation Name'] !== undefined) this.relationScans.push(node);
    const joinType = node['Join Type'];
    for (const child of node.Plans ?? []) {
      const side = child['Parent Relationship'];
      const extended =
        (side === 'Inner' && (joinType === 'Left' || joinType === 'Full')) ||
        (side === 'Outer' && (joinType === 'Right' || joinType === 'Full'));
      this.walk(child, nullExtended || extended);
    }
  }

  private registerSubplan(name: string, node: PlanNode): void {
    const cte = /^CTE (.+)$/.exec(name);
    if (cte?.[1] !== undefined) {
      this.ctes.set(cte[1], node);
      return;
    }
    // PostgreSQL 15: "InitPlan 1 (returns $0,$1)"; 16+: "InitPlan 1" printed as (InitPlan 1).col1
    const plain = /^((?:InitPlan|SubPlan) \d+)/.exec(name);
    if (plain?.[1] !== undefined) this.subplans.set(plain[1].toLowerCase(), node);
    const returns = /\(returns ([^)]*)\)/.exec(name);
    returns?.[1]?.split(',').forEach((param, index) => {
      this.subplans.set(param.trim(), {
        ...node,
        Output: (node.Output ?? []).slice(index, index + 1),
      });
    });
  }

  /** Whether output number `index` of `node` is non-null. */
  private outputNonNull(node: PlanNode, index: number, depth: number): boolean {
    if (depth > 20) return false;
    const expr = node.Output?.[index];
    if (expr !== undefined) {
      const saved = this.grouped;
      this.grouped = overGroups(node);
      try {
        return this.exprNonNull(tokenize(expr), depth);
      } finally {
        this.grouped = saved;
      }
    }
    // Set operations (Append, MergeAppend...) print no output list: every member must agree.
    const members = (node.Plans ?? []).filter(
      (p) => p['Parent Relationship'] === 'Member' || p['Parent Relationship'] === 'Outer',
    );
    if (members.length === 0) return false;
    return members.every((m) => this.outputNonNull(m, index, depth + 1));
  }

  /** A subquery's single result: non-null when it always yields one non-null row. */
  private subplanNonNull(node: PlanNode, depth: number): boolean {
    if (node.Output === undefined || node.Output.length === 0) return true; // EXISTS
    const alwaysOneRow = node['Node Type'] === 'Aggregate' && node.Strategy === 'Plain';
    return alwaysOneRow && this.outputNonNull(node, 0, depth + 1);
  }

  private exprNonNull(tokens: Token[], depth: number): boolean {
    if (tokens.length === 0) return false;
    tokens = stripParens(tokens);
    const first = tokens[0];
    if (first === undefined) return false;

    // x IS [NOT] NULL / IS [NOT] DISTINCT FROM / IS TRUE...: always true or false.
    if (topLevel(tokens).some((t) => t.kind === 'ident' && t.text === 'is')) return true;

    const operands = splitTopLevel(tokens, (t) => isBinaryOperator(t));
    if (operands.length > 1) {
      return operands.filter((o) => o.length > 0).every((o) => this.exprNonNull(o, depth));
    }

    const castAt = lastTopLevelCast(tokens);
    if (castAt > 0 && isTypeName(tokens.slice(castAt + 1))) {
      return this.exprNonNull(tokens.slice(0, castAt), depth);
    }

    return this.atomNonNull(tokens, depth);
  }

  private atomNonNull(tokens: Token[], depth: number): boolean {
    const [first, second] = tokens;
    if (first === undefined) return false;
    if (tokens.length === 1) {
      if (first.kind === 'string' || first.kind === 'number') return true;
      if (first.kind === 'param') {
        const sub = this.subplans.get(first.text);
        if (sub !== undefined) return this.subplanNonNull(sub, depth);
        return !this.nullableParams.has(Number(first.text.slice(1)));
      }
      if (first.kind === 'ident' && CONSTANT_KEYWORDS.has(first.text)) return true;
      if (first.kind === 'ident' && first.text === 'null') return false;
    }
    // (InitPlan 1).col1 / (SubPlan 2)
    if (
      first.text === '(' &&
      second?.kind === 'ident' &&
      /^(initplan|subplan)$/.test(second.text)
    ) {
      const sub = this.subplans.get(`${second.text} ${tokens[2]?.text ?? ''}`);
      return sub !== undefined && this.subplanNonNull(sub, depth);
    }
    if (first.kind === 'ident' && first.text === 'case') return this.caseNonNull(tokens, depth);
    if (first.kind === 'ident' && first.text === 'array') return true;
    if (first.kind === 'ident' && second?.text === '(') return this.callNonNull(tokens, depth);
    if (first.kind === 'ident' && first.text === 'row' && second?.text === '(') return true;
    const ref = columnReference(tokens);
    if (ref !== undefined) return this.referenceNonNull(ref.qualifier, ref.column, depth);
    return false;
  }

  private callNonNull(tokens: Token[], depth: number): boolean {
    const name = tokens[0]?.text ?? '';
    const close = matchingParen(tokens, 1);
    const args = splitTopLevel(tokens.slice(2, close), (t) => t.text === ',');
    if (ALWAYS_NON_NULL_FUNCTIONS.has(name)) return true;
    if (close !== tokens.length - 1) return false; // OVER (...), FILTER, subscripts...
    if (ANY_ARGUMENT_FUNCTIONS.has(name)) return args.some((a) => this.exprNonNull(a, depth));
    if (this.grouped && ALWAYS_IN_GROUP.has(name)) return true;
    if (this.grouped && GROUP_AGGREGATES.has(name)) {
      return aggregateArguments(args).every((a) => this.exprNonNull(a, depth));
    }
    if (STRICT_FUNCTIONS.has(name)) return args.every((a) => this.exprNonNull(a, depth));
    return false;
  }

  /** CASE ... WHEN ... THEN r1 ... ELSE rn END: non-null when ELSE exists and every result is. */
  private caseNonNull(tokens: Token[], depth: number): boolean {
    const results: Token[][] = [];
    let current: Token[] | undefined;
    let hasElse = false;
    let parens = 0;
    let nestedCase = 0;
    for (const t of tokens.slice(1)) {
      if (t.text === '(') parens++;
      if (t.text === ')') parens--;
      const keyword = parens === 0 && t.kind === 'ident' ? t.text : undefined;
      if (keyword === 'case') nestedCase++;
      else if (keyword === 'end' && nestedCase > 0) nestedCase--;
      else if (nestedCase === 0 && (keyword === 'then' || keyword === 'else')) {
        hasElse ||= keyword === 'else';
        current = [];
        results.push(current);
        continue;
      } else if (nestedCase === 0 && (keyword === 'when' || keyword === 'end')) {
        current = undefined;
        continue;
      }
      current?.push(t);
    }
    return hasElse && results.every((r) => this.exprNonNull(r, depth));
  }

  private referenceNonNull(qualifier: string | undefined, column: string, depth: number): boolean {
    const scan =
      qualifier === undefined
        ? this.relationScans.length === 1
          ? { node: this.relationScans[0] as PlanNode, nullExtended: this.soleScanExtended() }
          : undefined
        : this.scans.get(qualifier);
    if (scan === undefined || scan.nullExtended) return false;
    const node = scan.node;
    const relation = node['Relation Name'];
    if (relation !== undefined && node.Schema !== undefined) {
      return this.notNull.isNotNull(node.Schema, relation, column) === true;
    }
    // A CTE scan or a subquery scan: follow the column into the plan that produces it.
    const producer =
      node['CTE Name'] !== undefined ? this.ctes.get(node['CTE Name']) : node.Plans?.[0];
    if (producer === undefined) return false;
    const index = producerIndex(producer, column);
    return index !== undefined && this.outputNonNull(producer, index, depth + 1);
  }

  private soleScanExtended(): boolean {
    const only = this.relationScans[0];
    return [...this.scans.values()].some((s) => s.node === only && s.nullExtended);
  }
}

/** Whether `node` outputs rows of an aggregate with a GROUP BY (and no grouping sets). */
function overGroups(node: PlanNode): boolean {
  let current: PlanNode | undefined = node;
  while (current !== undefined) {
    if (current['Node Type'] === 'Aggregate') {
      return (current['Group Key']?.length ?? 0) > 0 && current['Grouping Sets'] === undefined;
    }
    if (!PASS_THROUGH.has(current['Node Type'])) return false;
    const inputs: PlanNode[] = (current.Plans ?? []).filter(
      (p) => p['Parent Relationship'] !== 'InitPlan' && p['Parent Relationship'] !== 'SubPlan',
    );
    current = inputs.length === 1 ? inputs[0] : undefined;
  }
  return false;
}

/** An aggregate's value arguments: DISTINCT and a trailing ORDER BY removed. */
function aggregateArguments(args: Token[][]): Token[][] {
  return args.map((arg, k) => {
    let tokens = arg[0]?.kind === 'ident' && arg[0].text === 'distinct' ? arg.slice(1) : arg;
    if (k === args.length - 1) {
      const order = tokens.findIndex(
        (t, i) => t.kind === 'ident' && t.text === 'order' && tokens[i + 1]?.text === 'by',
      );
      if (order > 0) tokens = tokens.slice(0, order);
    }
    return tokens;
  });
}

/** The position of `column` in a producing plan's output, matched by column name. */
function producerIndex(producer: PlanNode, column: string): number | undefined {
  const matches: number[] = [];
  producer.Output?.forEach((expr, k) => {
    const ref = columnReference(tokenize(expr));
    if (ref?.column === column) matches.push(k);
  });
  return matches.length === 1 ? matches[0] : undefined;
}

function columnReference(tokens: Token[]): { qualifier?: string; column: string } | undefined {
  const isName = (t: Token | undefined): t is Token => t?.kind === 'ident' || t?.kind === 'quoted';
  const [a, dot, b] = tokens;
  if (tokens.length === 1 && isName(a)) return { column: a.text };
  if (tokens.length === 3 && isName(a) && dot?.text === '.' && isName(b)) {
    return { qualifier: a.text, column: b.text };
  }
  return undefined;
}

function isBinaryOperator(t: Token): boolean {
  return t.kind === 'op' || (t.kind === 'ident' && BINARY_KEYWORDS.has(t.text));
}

const BINARY_KEYWORDS = new Set(['and', 'or', 'like', 'ilike', 'similar']);

function matchingParen(tokens: Token[], open: number): number {
  let level = 0;
  for (let k = open; k < tokens.length; k++) {
    if (tokens[k]?.text === '(' || tokens[k]?.text === '[') level++;
    if (tokens[k]?.text === ')' || tokens[k]?.text === ']') level--;
    if (level === 0) return k;
  }
  return tokens.length - 1;
}

function stripParens(tokens: Token[]): Token[] {
  while (tokens[0]?.text === '(' && matchingParen(tokens, 0) === tokens.length - 1) {
    tokens = tokens.slice(1, -1);
  }
  return tokens;
}

/** Tokens at nesting depth 0 (outside parentheses and brackets). */
function topLevel(tokens: Token[]): Token[] {
  const out: Token[] = [];
  let level = 0;
  for (const t of tokens) {
    if (t.text === '(' || t.text === '[') level++;
    else if (t.text === ')' || t.text === ']') level--;
    else if (level === 0) out.push(t);
  }
  return out;
}

function splitTopLevel(tokens: Token[], isSeparator: (t: Token) => boolean): Token[][] {
  const parts: Token[][] = [[]];
  let level = 0;
  for (const t of tokens) {
    if (t.text === '(' || t.text === '[') level++;
    if (t.text === ')' || t.text === ']') level--;
    if (level === 0 && t.kind !== 'string' && isSeparator(t)) parts.push([]);
    else parts[parts.length - 1]?.push(t);
  }
  return parts;
}

/** `text`, `character varying(20)`, `public.mood[]`: what may follow `::`. */
function isTypeName(tokens: Token[]): boolean {
  return tokens.every(
    (t) =>
      (t.kind === 'ident' && !CASE_KEYWORDS.has(t.text)) ||
      t.kind === 'quoted' ||
      t.kind === 'number' ||
      (t.kind === 'punct' && '[](),.'.includes(t.text)),
  );
}

const CASE_KEYWORDS = new Set(['case', 'when', 'then', 'else', 'end']);

function lastTopLevelCast(tokens: Token[]): number {
  let level = 0;
  let at = -1;
  tokens.forEach((t, k) => {
    if (t.text === '(' || t.text === '[') level++;
    if (t.text === ')' || t.text === ']') level--;
    if (level === 0 && t.text === '::') at = k;
  });
  return at;
}
