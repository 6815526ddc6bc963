/** Names for the generated code: libvirt's C and XDR names made TypeScript ones. */

/**
 * The words of a C name in PascalCase, acronyms kept together:
 * `DomainGetXMLDesc` → Domain Get XML Desc, `NWFilterLookupByName` → NW Filter Lookup By Name,
 * `GetCPUsInfo` → Get CPUs Info.
 */
export function cWords(name: string): string[] {
  return (
    name.match(
      /[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+/g,
    ) ?? []
  );
}

const capital = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase();

/** PascalCase with acronyms as words, as TypeScript spells them: `DomainGetXmlDesc`. */
export function pascalOfWords(words: readonly string[]): string {
  return words.map(capital).join('');
}

export function camelOfWords(words: readonly string[]): string {
  const p = pascalOfWords(words);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** A C name without libvirt's `vir` prefix, in TypeScript's PascalCase: `virDomainXMLFlags` → `DomainXmlFlags`. */
export function tsNameOfC(cName: string): string {
  return pascalOfWords(cWords(cName.replace(/^vir/, '')));
}

/** An XDR field name in camelCase, keeping the case it has: `need_results` → `needResults`,
 *  `nrVirtCpu` and `callbackID` stay. */
export function camelOfField(name: string): string {
  return name.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A procedure's or constant's UPPER_SNAKE (or lower) name in camelCase: `DOMAIN_GET_INFO` → `domainGetInfo`. */
export function camelOfSnake(name: string): string {
  return camelOfField(name.toLowerCase());
}

export function pascalOfSnake(name: string): string {
  const c = camelOfSnake(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** Words JavaScript does not allow as a parameter name. */
const RESERVED = new Set(['arguments', 'eval', 'function', 'in', 'new', 'delete', 'default']);

export function parameterName(xdrField: string): string {
  const p = camelOfField(xdrField);
  return RESERVED.has(p) ? `${p}Arg` : p;
}

/**
 * libvirt's documentation as a JSDoc comment: `@flags` (libvirt's way to name a parameter)
 * becomes `flags` in code style, so JSDoc does not read it as a tag.
 */
export function jsDoc(lines: readonly string[], indent = ''): string {
  const body = lines
    .join('\n')
    .replace(/\*\//g, '*\\/')
    .replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_, n: string) =>
      ['param', 'returns', 'deprecated', 'see'].includes(n) ? `@${n}` : `\`${n}\``,
    )
    .trim();
  if (body === '') return '';
  const rows = body.split('\n').map((l) => l.trimEnd());
  if (rows.length === 1) return `${indent}/** ${rows[0]} */\n`;
  return `${indent}/**\n${rows.map((l) => `${indent} *${l === '' ? '' : ' ' + l}`).join('\n')}\n${indent} */\n`;
}
