/**
 * The events of each object family, typed: for every event ID of the C API (virDomainEventID,
 * virNetworkEventID...), the message the daemon sends for it, decoded to an object whose
 * fields the callback's documentation describes.
 */
import type { LibvirtApi } from './api-xml.js';
import type { EnumModel } from './constants.js';
import { cWords, camelOfField, camelOfSnake, jsDoc, pascalOfSnake } from './names.js';
import type { Field, RemoteProcedure, RemoteProtocol, Struct } from './protocol.js';

interface Family {
  /** onDomainEvent, DomainEvents... */
  readonly name: string;
  readonly idEnum: string;
  /** Message procedures are PREFIX + the event ID's name, the first prefix that exists. */
  readonly prefixes: readonly string[];
}

const FAMILIES: readonly Family[] = [
  {
    name: 'Domain',
    idEnum: 'virDomainEventID',
    prefixes: ['DOMAIN_EVENT_CALLBACK_', 'DOMAIN_EVENT_'],
  },
  {
    name: 'Network',
    idEnum: 'virNetworkEventID',
    prefixes: ['NETWORK_EVENT_'],
  },
  {
    name: 'StoragePool',
    idEnum: 'virStoragePoolEventID',
    prefixes: ['STORAGE_POOL_EVENT_'],
  },
  {
    name: 'NodeDevice',
    idEnum: 'virNodeDeviceEventID',
    prefixes: ['NODE_DEVICE_EVENT_'],
  },
  {
    name: 'Secret',
    idEnum: 'virSecretEventID',
    prefixes: ['SECRET_EVENT_'],
  },
];

/** The object an event is about, named for what it is. */
const OBJECT_FIELDS: Readonly<Record<string, string>> = {
  remote_nonnull_domain: 'domain',
  remote_nonnull_network: 'network',
  remote_nonnull_storage_pool: 'pool',
  remote_nonnull_node_device: 'device',
  remote_nonnull_secret: 'secret',
};

const norm = (n: string): string => n.toLowerCase().replace(/_/g, '');

export interface EventsModule {
  readonly code: string;
  /** The message procedures the families use. */
  readonly used: ReadonlySet<string>;
  readonly enumsUsed: ReadonlySet<string>;
}

export function emitEvents(
  protocol: RemoteProtocol,
  api: LibvirtApi,
  enums: readonly EnumModel[],
): EventsModule {
  const procs = new Map(protocol.procedures.map((p) => [p.name, p]));
  const enumsByC = new Map(enums.map((e) => [e.cName, e]));
  const used = new Set<string>();
  const enumsUsed = new Set<string>();
  const out: string[] = [];

  for (const family of FAMILIES) {
    const ids = enumsByC.get(family.idEnum);
    if (ids === undefined) throw new Error(`${family.idEnum} is not in libvirt-api.xml`);
    const entries: string[] = [];
    const mapFields: string[] = [];
    for (const id of ids.members) {
      const proc = family.prefixes
        .map((prefix) => procs.get(prefix + id.key))
        .find((p) => p?.msg?.fields.some((f) => f.kind !== 'void' && f.name === 'callbackID'));
      if (proc === undefined || proc.msg === null) {
        throw new Error(`${id.name}: no event message with a callbackID in remote_protocol.x`);
      }
      used.add(proc.name);
      const callback = api.functions.get(id.info);
      const eventName = camelOfSnake(id.key);
      const typeName = `${family.name}${pascalOfSnake(id.key)}Event`;
      const fields = payloadFields(protocol, proc.msg);
      const lines = fields.map((f) => {
        const cArg = callback?.args.find(
          (a) =>
            norm(a.name) === norm(f.wire.replace(/^msg\./, '')) ||
            norm(a.name) === norm(f.name) ||
            (f.name === 'domain' && a.name === 'dom'),
        );
        const info = cArg?.info ?? '';
        let type = f.typedParams ? 'TypedParams' : protocol.fieldType(f.field, 't');
        const named = [...info.matchAll(/\bvir[A-Z][A-Za-z0-9]*/g)]
          .map((m) => enumsByC.get(m[0]))
          .find((e) => e !== undefined);
        if (type === 'number' && named !== undefined) {
          enumsUsed.add(named.tsName);
          type = `EnumValue<${named.tsName}>`;
        }
        return `${jsDoc([info], '  ')}  ${f.name}: ${type};`;
      });
      const doc = [
        ...(callback?.info ? [callback.info, ''] : []),
        `\`${id.name}\`: procedure ${proc.name} (${proc.number})${callback ? `, callback \`${callback.name}\`` : ''}.`,
      ];
      out.push(`${jsDoc(doc)}export interface ${typeName} {\n${lines.join('\n')}\n}\n`);
      mapFields.push(`  ${eventName}: ${typeName};`);
      const payload = fields
        .map((f) =>
          f.typedParams ? `${f.name}: fromTypedParams(m.${f.wire})` : `${f.name}: m.${f.wire}`,
        )
        .join(', ');
      entries.push(
        `  ${eventName}: {\n    id: ${id.value},\n    procedure: ${proc.number},\n    decode: (body) => {\n      const m = decode(x.${camelLower(protocol.typeName(proc.msg.name))}, body);\n      return { callbackID: m.callbackID, event: { ${payload} } };\n    },\n  },`,
      );
    }
    out.push(
      `/** Every ${family.name === 'Domain' ? 'domain' : family.name} event by name, with what its listener receives. */\nexport interface ${family.name}Events {\n${mapFields.join('\n')}\n}\n`,
      `export const ${tableName(family)}: EventTable<${family.name}Events> = {\n${entries.join('\n')}\n};\n`,
    );
  }
  return { code: out.join('\n'), used, enumsUsed };
}

const camelLower = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** DOMAIN_EVENTS, STORAGE_POOL_EVENTS... */
const tableName = (f: Family): string => `${cWords(f.name).join('_').toUpperCase()}_EVENTS`;

interface PayloadField {
  readonly name: string;
  /** Where the value is in the decoded message, e.g. `msg.dom`. */
  readonly wire: string;
  readonly field: Field;
  readonly typedParams: boolean;
}

/** The message's fields without the callback ID, those of a nested `msg` struct in its place. */
function payloadFields(protocol: RemoteProtocol, msg: Struct): PayloadField[] {
  const out: PayloadField[] = [];
  const add = (f: Field, path: string): void => {
    const named = f.kind === 'plain' && f.type.kind === 'named' ? f.type.name : '';
    out.push({
      name: OBJECT_FIELDS[named] ?? camelOfField(f.name),
      wire: path + camelOfField(f.name),
      field: f,
      typedParams: protocol.isTypedParamArray(f),
    });
  };
  for (const f of msg.fields as Field[]) {
    if (f.name === 'callbackID') continue;
    const inner =
      f.name === 'msg' && f.kind === 'plain' && f.type.kind === 'named'
        ? protocol.structs.get(f.type.name)
        : undefined;
    if (inner !== undefined) for (const g of inner.fields as Field[]) add(g, 'msg.');
    else add(f, '');
  }
  return out;
}

/** Event messages no family uses, and why. */
export function unusedEventMessages(
  protocol: RemoteProtocol,
  used: ReadonlySet<string>,
): RemoteProcedure[] {
  return protocol.procedures.filter((p) => p.msg !== null && !used.has(p.name));
}
