// What the tools print, laid out as the libguestfs tools lay it out (virt-inspector's XML,
// virt-df's table), and the JSON shapes of --json.
import type { InspectedOs } from '../inspect.js';

/** As libxml2's text writer escapes: quotes too, in text as in attributes. */
function escapeText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const escapeAttribute = escapeText;

/** virt-inspector's XML document for these operating systems. */
export function inspectorXml(oses: readonly InspectedOs[]): string {
  const out: string[] = ['<?xml version="1.0"?>', '<operatingsystems>'];
  const element = (indent: number, name: string, value: string | number): void => {
    out.push(`${' '.repeat(indent)}<${name}>${escapeText(String(value))}</${name}>`);
  };
  for (const os of oses) {
    out.push('  <operatingsystem>');
    element(4, 'root', os.root);
    element(4, 'name', os.type);
    element(4, 'arch', os.arch);
    element(4, 'distro', os.distro);
    element(4, 'product_name', os.productName);
    if (os.productVariant !== 'unknown') element(4, 'product_variant', os.productVariant);
    element(4, 'major_version', os.majorVersion);
    element(4, 'minor_version', os.minorVersion);
    element(4, 'package_format', os.packageFormat);
    element(4, 'package_management', os.packageManagement);
    element(4, 'hostname', os.hostname);
    element(4, 'osinfo', os.osinfo);
    out.push('    <mountpoints>');
    for (const m of os.mountpoints) {
      out.push(
        `      <mountpoint dev="${escapeAttribute(m.device)}">${escapeText(m.mountpoint)}</mountpoint>`,
      );
    }
    out.push('    </mountpoints>');
    out.push('    <filesystems>');
    for (const f of os.filesystems) {
      out.push(`      <filesystem dev="${escapeAttribute(f.device)}">`);
      if (f.type !== null) element(8, 'type', f.type);
      if (f.label !== null) element(8, 'label', f.label);
      if (f.uuid !== null) element(8, 'uuid', f.uuid);
      out.push('      </filesystem>');
    }
    out.push('    </filesystems>');
    if (os.applications.length > 0) {
      out.push('    <applications>');
      for (const a of os.applications) {
        out.push('      <application>');
        element(8, 'name', a.name);
        if (a.displayName !== '') element(8, 'display_name', a.displayName);
        if (a.epoch !== 0) element(8, 'epoch', a.epoch);
        if (a.version !== '') element(8, 'version', a.version);
        if (a.release !== '') element(8, 'release', a.release);
        if (a.arch !== '') element(8, 'arch', a.arch);
        if (a.publisher !== '') element(8, 'publisher', a.publisher);
        if (a.url !== '') element(8, 'url', a.url);
        if (a.source !== '') element(8, 'source_package', a.source);
        if (a.summary !== '') element(8, 'summary', a.summary);
        if (a.description !== '') element(8, 'description', a.description);
        out.push('      </application>');
      }
      out.push('    </applications>');
    }
    if (os.icon !== null) {
      const lines = os.icon.toString('base64').match(/.{1,72}/g) ?? [];
      // libxml2's base64 writer breaks lines every 72 characters with CRLF.
      out.push(`    <icon>${lines.join('\r\n')}</icon>`);
    }
    out.push('  </operatingsystem>');
  }
  out.push('</operatingsystems>');
  return out.join('\n') + '\n';
}

/** The --json shape of `inspect`: the typed object, the icon as base64. */
export function inspectJson(oses: readonly InspectedOs[]): unknown {
  return {
    operatingsystems: oses.map((os) => ({ ...os, icon: os.icon?.toString('base64') ?? null })),
  };
}

export interface DfRow {
  /** `image:device`, as virt-df names a filesystem. */
  readonly name: string;
  readonly blocks1k: bigint;
  readonly used1k: bigint;
  readonly available1k: bigint;
  readonly sizeBytes: bigint;
  readonly usedBytes: bigint;
  readonly availableBytes: bigint;
  /** Used as a percentage of the size (what virt-df prints as Use%). */
  readonly usePercent: number;
}

/** virt-df's table: sizes in 1K blocks, or human-readable with -h. */
export function dfTable(rows: readonly DfRow[], human: boolean): string {
  const line = (name: string, a: string, b: string, c: string, d: string): string => {
    const numbers = `${a.padStart(10)} ${b.padStart(10)} ${c.padStart(10)} ${d.padStart(5)}`;
    // A name too long for its column gets a line of its own, as in virt-df.
    return name.length > 36
      ? `${name}\n${' '.repeat(36)}${numbers}`
      : `${name.padEnd(36)}${numbers}`;
  };
  const out = [line('Filesystem', human ? 'Size' : '1K-blocks', 'Used', 'Available', 'Use%')];
  for (const r of rows) {
    const show = human
      ? [humanSize(r.sizeBytes), humanSize(r.usedBytes), humanSize(r.availableBytes)]
      : [String(r.blocks1k), String(r.used1k), String(r.available1k)];
    out.push(line(r.name, show[0]!, show[1]!, show[2]!, `${Math.round(r.usePercent)}%`));
  }
  return out.join('\n') + '\n';
}

/** Powers of 1024, one decimal below 10 (as `df -h`): 1.9G, 726M. */
export function humanSize(bytes: bigint): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return String(value);
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toString()}${units[unit]}`;
}
