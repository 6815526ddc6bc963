import type {
  Declaration,
  Definition,
  EnumMember,
  Location,
  PrimitiveName,
  Procedure,
  Specification,
  TypeSpec,
  UnionArm,
  UnionBody,
  Value,
  Version,
} from './ast.js';
import { type Token, XdrSpecError, tokenize } from './lexer.js';

/** rpcgen's C-flavoured spellings of the XDR primitive types, as found in real files. */
const PRIMITIVE_ALIASES: Readonly<Record<string, PrimitiveName>> = {
  int: 'int',
  hyper: 'hyper',
  float: 'float',
  double: 'double',
  quadruple: 'quadruple',
  bool: 'bool',
  bool_t: 'bool',
  void: 'void',
  // C types rpcgen maps onto XDR's 4- and 8-byte integers (a char is a whole XDR int).
  char: 'int',
  short: 'int',
  long: 'int',
  int32_t: 'int',
  int64_t: 'hyper',
  quad_t: 'hyper',
  longlong_t: 'hyper',
  u_char: 'uint',
  u_short: 'uint',
  u_int: 'uint',
  u_long: 'uint',
  uint32_t: 'uint',
  u_int32_t: 'uint',
  uint64_t: 'uhyper',
  u_int64_t: 'uhyper',
  u_quad_t: 'uhyper',
  u_longlong_t: 'uhyper',
};

const UNSIGNED_OF: Readonly<Record<string, PrimitiveName>> = {
  int: 'uint',
  char: 'uint',
  short: 'uint',
  long: 'uint',
  hyper: 'uhyper',
};

const KEYWORDS = new Set([
  'bool',
  'case',
  'const',
  'default',
  'double',
  'quadruple',
  'enum',
  'float',
  'hyper',
  'int',
  'opaque',
  'string',
  'struct',
  'switch',
  'typedef',
  'union',
  'unsigned',
  'void',
]);

/**
 * Parses an XDR specification (RFC 4506 section 6) with RPC program definitions (RFC 5531
 * section 12). Throws XdrSpecError with the line and column of the first problem.
 */
export function parseXdr(source: string, file = '<input>'): Specification {
  try {
    return new Parser(tokenize(source)).specification();
  } catch (e) {
    if (e instanceof XdrSpecError) throw e.inFile(file);
    throw e;
  }
}

class Parser {
  private pos = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private get token(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.token;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private fail(expected: string, t: Token = this.token): never {
    const found = t.kind === 'eof' ? 'the end of the file' : `"${t.text}"`;
    throw new XdrSpecError(`expected ${expected}, found ${found}`, t.at);
  }

  private is(text: string): boolean {
    return (this.token.kind === 'punct' || this.token.kind === 'ident') && this.token.text === text;
  }

  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.pos++;
    return true;
  }

  private expect(text: string): Token {
    if (!this.is(text)) this.fail(`"${text}"`);
    return this.next();
  }

  private identifier(what = 'a name'): { name: string; at: Location } {
    const t = this.token;
    if (t.kind !== 'ident' || KEYWORDS.has(t.text)) this.fail(what);
    this.pos++;
    return { name: t.text, at: t.at };
  }

  private value(): Value {
    const t = this.token;
    if (t.kind === 'number') {
      this.pos++;
      return { kind: 'number', value: t.value };
    }
    if (t.kind === 'ident' && !KEYWORDS.has(t.text)) {
      this.pos++;
      return { kind: 'name', name: t.text, at: t.at };
    }
    return this.fail('a number or a constant name');
  }

  specification(): Specification {
    const definitions: Definition[] = [];
    while (this.token.kind !== 'eof') {
      const def = this.definition();
      // Without a comment before it, a comment after its ";" on the same line documents it.
      definitions.push({ ...def, comment: def.comment ?? this.previousTrailing() });
    }
    return { definitions };
  }

  private previousTrailing(): string | null {
    return this.tokens[this.pos - 1]?.trailing ?? null;
  }

  private definition(): Definition {
    const first = this.token;
    const comment = first.comment;
    const at = first.at;
    if (this.accept('const')) {
      const { name } = this.identifier('the name of the constant');
      this.expect('=');
      const value = this.value();
      this.expect(';');
      return { kind: 'const', name, value, comment, at };
    }
    if (this.accept('typedef')) {
      const declaration = this.declaration();
      if (declaration.kind === 'void') this.fail('a named declaration after typedef', first);
      this.expect(';');
      return { kind: 'typedef', name: declaration.name, declaration, comment, at };
    }
    if (this.accept('enum')) {
      const { name } = this.identifier('the name of the enum');
      const members = this.enumBody();
      this.expect(';');
      return { kind: 'enum', name, members, comment, at };
    }
    if (this.accept('struct')) {
      const { name } = this.identifier('the name of the struct');
      const fields = this.structBody();
      this.expect(';');
      return { kind: 'struct', name, fields, comment, at };
    }
    if (this.accept('union')) {
      const { name } = this.identifier('the name of the union');
      const body = this.unionBody();
      this.expect(';');
      return { kind: 'union', name, body, comment, at };
    }
    if (this.accept('program')) {
      const { name } = this.identifier('the name of the program');
      this.expect('{');
      const versions: Version[] = [];
      do versions.push(this.version());
      while (!this.is('}'));
      this.expect('}');
      this.expect('=');
      const number = this.value();
      this.expect(';');
      return { kind: 'program', name, number, versions, comment, at };
    }
    return this.fail('a definition (const, typedef, enum, struct, union or program)');
  }

  private version(): Version {
    this.expect('version');
    const { name } = this.identifier('the name of the version');
    this.expect('{');
    const procedures: Procedure[] = [];
    do procedures.push(this.procedure());
    while (!this.is('}'));
    this.expect('}');
    this.expect('=');
    const number = this.value();
    this.expect(';');
    return { name, number, procedures };
  }

  private procedure(): Procedure {
    const ret = this.typeSpecifier();
    const { name, at } = this.identifier('the name of the procedure');
    this.expect('(');
    const args: TypeSpec[] = [this.typeSpecifier()];
    while (this.accept(',')) args.push(this.typeSpecifier());
    this.expect(')');
    this.expect('=');
    const number = this.value();
    this.expect(';');
    return { name, number, args, ret, at };
  }

  private enumBody(): EnumMember[] {
    this.expect('{');
    const members: EnumMember[] = [];
    do {
      const comment = this.token.comment;
      const { name, at } = this.identifier('the name of an enum member');
      let value: Value;
      if (this.accept('=')) {
        value = this.value();
      } else {
        // rpcgen accepts members without a value: one more than the previous one.
        const previous = members.at(-1)?.value ?? { kind: 'number', value: -1 };
        if (previous.kind !== 'number')
          this.fail('"=" and a value (the previous member is not a number)');
        value = { kind: 'number', value: previous.value + 1 };
      }
      let trailing = this.previousTrailing();
      if (this.is(',')) trailing ??= this.token.trailing;
      members.push({ name, value, comment: comment ?? trailing, at });
    } while (this.accept(','));
    this.expect('}');
    return members;
  }

  private structBody(): Declaration[] {
    this.expect('{');
    const fields: Declaration[] = [];
    do {
      fields.push(this.declaration());
      this.expect(';');
    } while (!this.is('}'));
    this.expect('}');
    return fields;
  }

  private unionBody(): UnionBody {
    this.expect('switch');
    this.expect('(');
    const discriminant = this.declaration();
    if (discriminant.kind !== 'plain') this.fail('a discriminant like "int type"');
    this.expect(')');
    this.expect('{');
    const arms: UnionArm[] = [];
    let defaultArm: Declaration | null = null;
    while (this.is('case')) {
      const cases: Value[] = [];
      while (this.accept('case')) {
        cases.push(this.value());
        this.expect(':');
      }
      arms.push({ cases, declaration: this.declaration() });
      this.expect(';');
    }
    if (arms.length === 0) this.fail('"case"');
    if (this.accept('default')) {
      this.expect(':');
      defaultArm = this.declaration();
      this.expect(';');
    }
    this.expect('}');
    return { discriminant, arms, defaultArm };
  }

  private declaration(): Declaration {
    if (this.accept('void')) return { kind: 'void' };
    if (this.accept('opaque')) {
      const { name } = this.identifier();
      if (this.accept('[')) {
        const length = this.value();
        this.expect(']');
        return { kind: 'fixedOpaque', name, length };
      }
      return { kind: 'varOpaque', name, max: this.maxLength() };
    }
    if (this.accept('string')) {
      const { name } = this.identifier();
      return { kind: 'string', name, max: this.maxLength() };
    }
    const type = this.typeSpecifier();
    if (this.accept('*')) return { kind: 'optional', name: this.identifier().name, type };
    const { name } = this.identifier();
    if (this.accept('[')) {
      const length = this.value();
      this.expect(']');
      return { kind: 'fixedArray', name, type, length };
    }
    if (this.is('<')) return { kind: 'varArray', name, type, max: this.maxLength() };
    return { kind: 'plain', name, type };
  }

  /** `<>` or `<max>`. */
  private maxLength(): Value | null {
    this.expect('<');
    if (this.accept('>')) return null;
    const max = this.value();
    this.expect('>');
    return max;
  }

  private typeSpecifier(): TypeSpec {
    const t = this.token;
    if (t.kind !== 'ident') return this.fail('a type');
    if (this.accept('unsigned')) {
      const u = this.token;
      const unsigned = u.kind === 'ident' ? UNSIGNED_OF[u.text] : undefined;
      if (unsigned !== undefined) {
        this.pos++;
        return KEYWORDS.has(u.text)
          ? { kind: 'primitive', name: unsigned }
          : { kind: 'primitive', name: unsigned, cType: `unsigned ${u.text}` };
      }
      return { kind: 'primitive', name: 'uint' }; // `unsigned` alone is `unsigned int`
    }
    if (this.accept('enum')) {
      if (this.is('{')) return { kind: 'enum', members: this.enumBody() };
      const { name, at } = this.identifier('the name of an enum');
      return { kind: 'named', name, at };
    }
    if (this.accept('struct')) {
      if (this.is('{')) return { kind: 'struct', fields: this.structBody() };
      const { name, at } = this.identifier('the name of a struct');
      return { kind: 'named', name, at };
    }
    if (this.accept('union')) {
      if (this.is('switch')) return { kind: 'union', body: this.unionBody() };
      const { name, at } = this.identifier('the name of a union');
      return { kind: 'named', name, at };
    }
    const primitive = PRIMITIVE_ALIASES[t.text];
    if (primitive !== undefined) {
      this.pos++;
      return KEYWORDS.has(t.text)
        ? { kind: 'primitive', name: primitive }
        : { kind: 'primitive', name: primitive, cType: t.text };
    }
    const { name, at } = this.identifier('a type');
    return { kind: 'named', name, at };
  }
}
