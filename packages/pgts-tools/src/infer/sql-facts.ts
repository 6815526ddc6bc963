// What the nullability analysis asks about a statement, loaded from the catalog beforehand
// in a few batched queries (the relations it names, the definitions of the views among them
// and the relations those name, the names the schema gives its own functions and
// operators), so that the analysis itself is a plain function of parse tree and facts.
import { parseStatement, type Node } from '../sql/parser.js';
import type { Catalog, RelationInfo } from './catalog.js';
import type { RelationFacts, SqlFacts } from './nullability.js';

export class SqlFactsLoader {
  /** By relation OID, so that a view is parsed (and then analyzed) once per run. */
  private readonly relations = new Map<number, RelationFacts>();

  constructor(private readonly catalog: Catalog) {}

  async load(statement: Node): Promise<SqlFacts> {
    let pending = [statement];
    while (pending.length > 0) {
      const named = pending.flatMap(relationNames);
      await this.catalog.resolveRelations(named);
      const views = named
        .map((n) => this.catalog.relationByReference(n.schema, n.name))
        .filter(
          (r): r is RelationInfo => r !== undefined && isView(r) && !this.relations.has(r.oid),
        );
      await this.catalog.loadDefinitions(views.map((v) => v.oid));
      pending = [];
      for (const view of new Set(views)) {
        const definition = await this.parseDefinition(view);
        this.relations.set(view.oid, facts(view, definition));
        if (definition !== undefined) pending.push(definition);
      }
    }
    const userDefined = await this.catalog.userDefinedNames();
    return {
      relation: (schema, name) => {
        const relation = this.catalog.relationByReference(schema, name);
        if (relation === undefined) return undefined;
        let known = this.relations.get(relation.oid);
        if (known === undefined) {
          known = facts(relation, undefined);
          this.relations.set(relation.oid, known);
        }
        return known;
      },
      isUserFunction: (name) => userDefined.functions.has(name),
      isUserOperator: (name) => userDefined.operators.has(name),
      isUserCastTarget: (name) => userDefined.castTargets.has(name),
    };
  }

  private async parseDefinition(view: RelationInfo): Promise<Node | undefined> {
    const sql = this.catalog.definition(view.oid);
    if (sql === undefined) return undefined;
    try {
      return await parseStatement(sql);
    } catch {
      return undefined; // a definition this parser cannot read: its columns stay nullable
    }
  }
}

function isView(relation: RelationInfo): boolean {
  return relation.kind === 'v' || relation.kind === 'm';
}

function facts(relation: RelationInfo, definition: Node | undefined): RelationFacts {
  return {
    columns: relation.attributes.map((a) => ({
      name: a.name,
      // A view's catalog entry never says NOT NULL; its definition does the talking.
      notNull: a.notNull && !isView(relation),
      textual: a.category === 'S',
    })),
    definition,
  };
}

/** Every relation a parse tree names (RangeVar nodes, wherever they are). */
function relationNames(node: unknown): Array<{ schema: string | undefined; name: string }> {
  const out: Array<{ schema: string | undefined; name: string }> = [];
  const walk = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      value.forEach(walk);
      return;
    }
    const record = value as Record<string, unknown>;
    if (typeof record['relname'] === 'string') {
      const schema = record['schemaname'];
      out.push({
        schema: typeof schema === 'string' ? schema : undefined,
        name: record['relname'],
      });
    }
    Object.values(record).forEach(walk);
  };
  walk(node);
  return out;
}
