/**
 * The framing and shared types of libvirt's RPC protocol (src/rpc/virnetprotocol.x and the
 * common types at the top of src/remote/remote_protocol.x), as XDR codecs.
 */
import {
  type Codec,
  type Infer,
  array,
  bool,
  double,
  fixedOpaque,
  hyper,
  int,
  mapped,
  optional,
  string,
  struct,
  uhyper,
  uint,
  union,
} from '@tsvirt/xdr';

export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const KEEPALIVE_PROC_PING = 1;
export const KEEPALIVE_PROC_PONG = 2;

export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

/** Largest packet, length word included (VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX). */
export const MESSAGE_MAX = 16777216 + 4;
export const HEADER_SIZE = 24;
/** Stream data per packet: the payload size every libvirt version accepts. */
export const STREAM_CHUNK_MAX = 262144 - HEADER_SIZE;

export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

export const messageHeader: Codec<MessageHeader> = struct<MessageHeader>('virNetMessageHeader', {
  prog: uint,
  vers: uint,
  proc: int,
  type: int,
  serial: uint,
  status: int,
});

/** REMOTE_STRING_MAX (4 MiB in current libvirt). */
export const STRING_MAX = 4194304;
export const nonnullString = string(STRING_MAX);
export const remoteString = optional(nonnullString);

/** A 16-byte UUID on the wire, its canonical 36-character form in TypeScript. */
export const uuid: Codec<string> = mapped(
  fixedOpaque(16),
  'remote_uuid',
  (b) => {
    const h = Buffer.from(b).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
  (s) => {
    const h = s.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new TypeError(`not a UUID: ${s}`);
    return new Uint8Array(Buffer.from(h, 'hex'));
  },
);

export const nonnullDomain = struct('remote_nonnull_domain', {
  name: nonnullString,
  uuid,
  id: int,
});
export const nonnullNetwork = struct('remote_nonnull_network', { name: nonnullString, uuid });
export const nonnullStoragePool = struct('remote_nonnull_storage_pool', {
  name: nonnullString,
  uuid,
});
export const nonnullStorageVol = struct('remote_nonnull_storage_vol', {
  pool: nonnullString,
  name: nonnullString,
  key: nonnullString,
});

/** remote_error (= virNetMessageError): the body of every error reply. */
export const remoteError = struct('remote_error', {
  code: int,
  domain: int,
  message: remoteString,
  level: int,
  dom: optional(nonnullDomain),
  str1: remoteString,
  str2: remoteString,
  str3: remoteString,
  int1: int,
  int2: int,
  net: optional(nonnullNetwork),
});
export type RemoteError = Infer<typeof remoteError>;

/** virTypedParameterType */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

export const typedParamValue = union<{
  1: number;
  2: number;
  3: bigint;
  4: bigint;
  5: number;
  6: boolean;
  7: string;
}>('remote_typed_param_value', {
  1: int,
  2: uint,
  3: hyper,
  4: uhyper,
  5: double,
  // libvirt sends booleans as int; be lenient like libvirt itself (any non-zero is true).
  6: mapped(
    int,
    'int',
    (v) => v !== 0,
    (b) => (b ? 1 : 0),
  ),
  7: nonnullString,
});
export const typedParam = struct('remote_typed_param', {
  field: nonnullString,
  value: typedParamValue,
});
export type TypedParam = Infer<typeof typedParam>;
export type TypedParamValue = number | bigint | string | boolean;

/** Typed parameters as a Map from field name to plain value. */
export function typedParamsToMap(params: readonly TypedParam[]): Map<string, TypedParamValue> {
  return new Map(params.map((p) => [p.field, p.value.value]));
}

export { array, bool };
