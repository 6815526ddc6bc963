// XML through fast-xml-parser (a well-kept, dependency-light parser and builder with its
// own types): libvirt's domain, capabilities and volume XML are read and written with it,
// never with regular expressions. Every element is parsed into an object whose children
// are always arrays (so one disk and three disks look alike); attributes are '@_name'.
import type * as FastXmlParser from 'fast-xml-parser';
import { createRequire } from 'node:module';

/** One element: attributes under '@_name', its text under '#text', children by tag. */
export interface XmlElement {
  [key: string]: XmlElement[] | string | undefined;
}

const ATTRIBUTE = '@_';

// Loaded on first use (its CommonJS build, synchronously): commands that read no XML,
// such as `status`, do not pay for it at start.
const require = createRequire(import.meta.url);
let library: {
  parser: FastXmlParser.XMLParser;
  builder: FastXmlParser.XMLBuilder;
} | null = null;

function xmlLibrary(): NonNullable<typeof library> {
  if (library !== null) return library;
  const { XMLBuilder, XMLParser } = require('fast-xml-parser') as typeof FastXmlParser;
  library = {
    parser: new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: ATTRIBUTE,
      // Values stay text: a MAC address, "0x00" or "007" must not become numbers.
      parseTagValue: false,
      parseAttributeValue: false,
      alwaysCreateTextNode: true,
      isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
    }),
    builder: new XMLBuilder({
      ignoreAttributes: false,
      attributeNamePrefix: ATTRIBUTE,
      format: true,
      indentBy: '  ',
      suppressEmptyNode: true,
    }),
  };
  return library;
}

/** The document's root element (`<domain>`, `<capabilities>`...), or throws. */
export function parseXml(xml: string, root: string): XmlElement {
  const doc = xmlLibrary().parser.parse(xml) as XmlElement;
  const element = children(doc, root)[0];
  if (element === undefined) throw new Error(`not a <${root}> document`);
  return element;
}

/** Writes a document from a root element; plain values may be strings or nested objects. */
export function buildXml(root: string, element: XmlInput): string {
  return xmlLibrary().builder.build({ [root]: element });
}

/** What buildXml accepts: attributes as '@_name', text as '#text' or a plain string. */
export type XmlInput = string | { [key: string]: XmlInput | XmlInput[] | undefined };

export function children(element: XmlElement | undefined, tag: string): XmlElement[] {
  const value = element?.[tag];
  return Array.isArray(value) ? value : [];
}

export function child(element: XmlElement | undefined, tag: string): XmlElement | undefined {
  return children(element, tag)[0];
}

export function attribute(element: XmlElement | undefined, name: string): string | null {
  const value = element?.[`${ATTRIBUTE}${name}`];
  return typeof value === 'string' ? value : null;
}

export function setAttribute(element: XmlElement, name: string, value: string): void {
  element[`${ATTRIBUTE}${name}`] = value;
}

/** The text of an element (null when absent or empty). */
export function text(element: XmlElement | undefined): string | null {
  const value = element?.['#text'];
  return typeof value === 'string' && value !== '' ? value : null;
}
