// Finds every pgts query call in a TypeScript program: `x.query(...)`, `x.one(...)`,
// `x.maybeOne(...)`, `x.execute(...)` where the method belongs to pgts's Queryable, and the
// SQL is a string literal, a template literal without substitutions, or a const holding one.
import ts from 'typescript';

export interface FoundQuery {
  sql: string;
  file: string;
  /** Maps a 0-based offset in `sql` to a 1-based line and column in `file`. */
  locate(offset: number): { line: number; column: number };
}

export interface FoundProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

const METHODS = new Set(['query', 'one', 'maybeOne', 'execute']);
const OWNERS = new Set(['Queryable', 'Session', 'Database']);

export function findQueries(
  program: ts.Program,
  files: ReadonlySet<string>,
): {
  queries: FoundQuery[];
  problems: FoundProblem[];
} {
  const checker = program.getTypeChecker();
  const queries: FoundQuery[] = [];
  const problems: FoundProblem[] = [];
  for (const source of program.getSourceFiles()) {
    if (!files.has(source.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        METHODS.has(node.expression.name.text) &&
        isPgtsMethod(checker, node.expression.name)
      ) {
        const arg = node.arguments[0];
        if (arg !== undefined) {
          const literal = sqlLiteral(checker, arg);
          if (literal === undefined) {
            problems.push({
              ...position(source, arg.getStart(source)),
              file: source.fileName,
              message:
                'pgts checks SQL written as a string literal (or a const holding one); ' +
                'this argument is computed. Use $name parameters instead of building SQL.',
            });
          } else {
            const literalSource = literal.getSourceFile();
            const offsets = literalOffsets(literal.getText(literalSource));
            const start = literal.getStart(literalSource);
            queries.push({
              sql: literal.text,
              file: literalSource.fileName,
              locate: (offset) =>
                position(literalSource, start + (offsets[offset] ?? offsets.at(-1) ?? 0)),
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { queries, problems };
}

function isPgtsMethod(checker: ts.TypeChecker, name: ts.MemberName): boolean {
  const symbol = checker.getSymbolAtLocation(name);
  return (symbol?.declarations ?? []).some((d) => {
    const owner = d.parent;
    const ownerName =
      ts.isInterfaceDeclaration(owner) || ts.isClassDeclaration(owner)
        ? owner.name?.text
        : undefined;
    return (
      ownerName !== undefined && OWNERS.has(ownerName) && /pgts/.test(d.getSourceFile().fileName)
    );
  });
}

type SqlLiteral = ts.StringLiteral | ts.NoSubstitutionTemplateLiteral;

function sqlLiteral(checker: ts.TypeChecker, arg: ts.Expression): SqlLiteral | undefined {
  if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) return arg;
  if (ts.isAsExpression(arg) || ts.isParenthesizedExpression(arg)) {
    return sqlLiteral(checker, arg.expression);
  }
  if (ts.isIdentifier(arg)) {
    let symbol = checker.getSymbolAtLocation(arg);
    if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias) {
      symbol = checker.getAliasedSymbol(symbol);
    }
    const declaration = symbol?.valueDeclaration;
    if (
      declaration !== undefined &&
      ts.isVariableDeclaration(declaration) &&
      declaration.initializer !== undefined &&
      ts.getCombinedNodeFlags(declaration) & ts.NodeFlags.Const
    ) {
      return sqlLiteral(checker, declaration.initializer);
    }
  }
  return undefined;
}

function position(source: ts.SourceFile, pos: number): { line: number; column: number } {
  const { line, character } = source.getLineAndCharacterOfPosition(pos);
  return { line: line + 1, column: character + 1 };
}

/**
 * For each character of the literal's value, its offset in the literal as written (quotes
 * and escapes included), so PostgreSQL's error position lands on the right source column.
 */
function literalOffsets(raw: string): number[] {
  const offsets: number[] = [];
  let i = 1; // past the opening quote or backtick
  while (i < raw.length - 1) {
    if (raw[i] !== '\\') {
      offsets.push(i);
      i++;
      continue;
    }
    const next = raw[i + 1];
    if (next === '\n') {
      i += 2; // line continuation: no character
    } else if (next === '\r') {
      i += raw[i + 2] === '\n' ? 3 : 2;
    } else if (next === 'x') {
      offsets.push(i);
      i += 4;
    } else if (next === 'u') {
      offsets.push(i);
      i += raw[i + 2] === '{' ? raw.indexOf('}', i) - i + 1 : 6;
    } else {
      offsets.push(i);
      i += 2;
    }
  }
  offsets.push(raw.length - 1);
  return offsets;
}
