/**
 * XML through fast-xml-parser (a well-kept parser and builder), never regular expressions:
 * libvirt domain XML and OVF are read with it, the target's domain XML is written with it.
 * Every element parses into an object whose children are always arrays; attributes are
 * '@_name' (namespace prefixes removed: OVF mixes `ovf:`, `rasd:`, `vmw:`...).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export interface XmlElement {
  [key: string]: XmlElement[] | string | undefined;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  alwaysCreateTextNode: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

/** The document's root element, or null when it is not one. */
export function parseXml(xml: string, root: string): XmlElement | null {
  const doc = parser.parse(xml) as XmlElement;
  return children(doc, root)[0] ?? null;
}

export function children(element: XmlElement | undefined, tag: string): XmlElement[] {
  const value = element?.[tag];
  return Array.isArray(value) ? value : [];
}

export function child(element: XmlElement | undefined, tag: string): XmlElement | undefined {
  return children(element, tag)[0];
}

export function attr(element: XmlElement | undefined, name: string): string | undefined {
  const value = element?.[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

export function text(element: XmlElement | undefined): string | undefined {
  const value = element?.['#text'];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** What buildXml takes: attributes as '@_name', text as '#text', children by tag. */
export type XmlNode = { [key: string]: XmlNode | XmlNode[] | string | number | undefined };

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  commentPropName: '#comment',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
});

export function buildXml(root: string, element: XmlNode): string {
  return builder.build({ [root]: element });
}
