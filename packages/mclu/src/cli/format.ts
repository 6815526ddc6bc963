// Human and JSON renderings of what the library returns. Human output follows the
// original's layout; JSON shapes are the documented, stable ones (sizes in bytes).
import type { BootResult } from '../boot.js';
import type { GuestInfo } from '../guests.js';
import type { MigrateResult } from '../migrate.js';
import { formatSize } from '../size.js';
import type { GuestListing, NodeStatus } from '../status.js';
import type { TemplateAnswers } from '../templates.js';

const NAME_WIDTH = 25;
const LABEL_END = 33;

function label(text: string): string {
  return `${text}:`.padStart(LABEL_END);
}

/** The original's `mclu status` layout. */
export function formatStatus(statuses: readonly NodeStatus[]): string {
  const lines: string[] = [];
  for (const s of statuses) {
    lines.push(`${s.name.padEnd(NAME_WIDTH - 1)} ${s.state}`);
    if (s.state === 'off') {
      if (s.error) lines.push(`${label('reason')} ${s.error}`);
      continue;
    }
    lines.push(`${label('total')} ${s.pcpus ?? 0}pcpus ${formatSize(s.memoryBytes ?? 0n)}`);
    if ((s.guests ?? 0) > 0) {
      lines.push(
        `${label('used')} ${s.usedVcpus ?? 0}vcpus ${formatSize(s.usedMemoryBytes ?? 0n)} by ${s.guests ?? 0} guest(s)`,
      );
    }
    lines.push(`${label('free')} ${formatSize(s.freeMemoryBytes ?? 0n)}`);
  }
  return lines.join('\n') + '\n';
}

const num = (v: bigint | null): number | null => (v === null ? null : Number(v));

export function statusJson(statuses: readonly NodeStatus[]): unknown {
  return {
    nodes: statuses.map((s) => ({
      name: s.name,
      state: s.state,
      ...(s.error === undefined ? {} : { error: s.error }),
      pcpus: s.pcpus,
      memory_bytes: num(s.memoryBytes),
      used_vcpus: s.usedVcpus,
      used_memory_bytes: num(s.usedMemoryBytes),
      guests: s.guests,
      free_memory_bytes: num(s.freeMemoryBytes),
    })),
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatList(listing: GuestListing): string {
  const rows = listing.guests.map((g) => [
    g.name,
    g.node,
    g.state,
    String(g.vcpus),
    formatSize(g.memoryBytes),
  ]);
  return table(['NAME', 'NODE', 'STATE', 'VCPUS', 'MEMORY'], rows);
}

export function listJson(listing: GuestListing): unknown {
  return {
    guests: listing.guests.map((g) => ({
      name: g.name,
      node: g.node,
      state: g.state,
      vcpus: g.vcpus,
      memory_bytes: Number(g.memoryBytes),
    })),
  };
}

export function formatInfo(info: GuestInfo): string {
  const lines = [
    `name:       ${info.name}`,
    `uuid:       ${info.uuid}`,
    `node:       ${info.node}`,
    `state:      ${info.state}`,
    `vcpus:      ${info.vcpus}`,
    `memory:     ${formatSize(info.memoryBytes)} (max ${formatSize(info.maxMemoryBytes)})`,
    `cpu time:   ${(Number(info.cpuTimeNs) / 1e9).toFixed(1)}s`,
    `autostart:  ${info.autostart ? 'yes' : 'no'}`,
  ];
  for (const d of info.disks) {
    const size = d.capacityBytes === null ? '' : ` ${formatSize(d.capacityBytes)}`;
    lines.push(
      `disk:       ${d.target} (${d.bus}${d.format ? `, ${d.format}` : ''}${size}) ${d.source ?? '(empty)'}${d.device !== 'disk' ? ` [${d.device}]` : ''}`,
    );
  }
  for (const i of info.interfaces) {
    const addresses = i.addresses.length > 0 ? ` ${i.addresses.join(' ')}` : '';
    lines.push(
      `interface:  ${i.type}${i.source ? ` ${i.source}` : ''} ${i.mac ?? ''}${i.model ? ` (${i.model})` : ''}${addresses}`,
    );
  }
  for (const c of info.consoles) lines.push(`console:    ${c}`);
  for (const g of info.graphics)
    lines.push(
      `display:    ${g.type}${g.port ? ` port ${g.port}` : ''}${g.listen ? ` on ${g.listen}` : ''}`,
    );
  return lines.join('\n') + '\n';
}

export function infoJson(info: GuestInfo): unknown {
  return {
    name: info.name,
    uuid: info.uuid,
    node: info.node,
    state: info.state,
    vcpus: info.vcpus,
    memory_bytes: Number(info.memoryBytes),
    max_memory_bytes: Number(info.maxMemoryBytes),
    cpu_time_ns: Number(info.cpuTimeNs),
    autostart: info.autostart,
    disks: info.disks.map((d) => ({
      device: d.device,
      source: d.source,
      target: d.target,
      bus: d.bus,
      format: d.format,
      capacity_bytes: num(d.capacityBytes),
      allocation_bytes: num(d.allocationBytes),
    })),
    interfaces: info.interfaces.map((i) => ({
      type: i.type,
      source: i.source,
      mac: i.mac,
      model: i.model,
      addresses: i.addresses,
    })),
    consoles: info.consoles,
    graphics: info.graphics,
  };
}

export function formatTemplates(
  templates: readonly (TemplateAnswers | { name: string; path: string; error: string })[],
): string {
  const rows = templates.map((t) =>
    'error' in t
      ? [t.name, '-', '-', `${t.path} (${t.error})`]
      : [t.name, t.baseImage ?? '-', t.diskBus, t.path],
  );
  return table(['NAME', 'BASE-IMAGE', 'DISK-BUS', 'PATH'], rows);
}

export function templatesJson(
  templates: readonly (TemplateAnswers | { name: string; path: string; error: string })[],
): unknown {
  return {
    templates: templates.map((t) =>
      'error' in t
        ? { name: t.name, path: t.path, error: t.error }
        : { name: t.name, path: t.path, base_image: t.baseImage, disk_bus: t.diskBus },
    ),
  };
}

export function formatBoot(result: BootResult, started: boolean): string {
  const lines = [
    `${started ? 'booted' : 'built'} ${result.name} on ${result.node} (${result.state}); disk ${result.diskPath}`,
  ];
  if (!started) lines.push(`start it with: mclu start ${result.name}`);
  for (const hint of result.hints) lines.push(`  ${hint}`);
  return lines.join('\n') + '\n';
}

export function formatMigrate(result: MigrateResult): string {
  return `migrated ${result.name} (${result.mode}) from ${result.from} to ${result.to}; now ${result.state}\n`;
}
