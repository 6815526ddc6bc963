/**
 * The framing of libvirt's RPC, from the generated virnetprotocol.x and
 * virkeepaliveprotocol.x: packet sizes, the header, and the keepalive program.
 */
import {
  VIR_NET_MESSAGE_HEADER_MAX,
  VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX,
  VIR_NET_MESSAGE_LEN_MAX,
  VIR_NET_MESSAGE_MAX,
} from './virnet.generated.js';

export {
  VirNetMessageStatus as MessageStatus,
  VirNetMessageType as MessageType,
  type VirNetMessageHeader as MessageHeader,
  virNetMessageError as messageError,
  virNetMessageHeader as messageHeader,
  virNetStreamHole as streamHole,
} from './virnet.generated.js';
export {
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
} from './keepalive.generated.js';
export { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './remote.generated.js';

/** Largest packet, length word included. */
export const MESSAGE_MAX = VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX;
export const HEADER_SIZE = VIR_NET_MESSAGE_HEADER_MAX;
/** Stream data per packet: the payload size every libvirt version accepts. */
export const STREAM_CHUNK_MAX = VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX;
