/**
 * The message header as the daemon reads and writes it: guestfs_message_header with its
 * enums (procedure, direction, status) as plain numbers. The generated codec refuses a
 * procedure number outside the enum, but a daemon must answer one with an error reply (a
 * newer library calling an older daemon), not drop the conversation.
 */
import { type Codec, int, struct, uhyper, uint } from '@tsvirt/xdr';
import type { GuestfsMessageHeader } from '../protocol/xdr.generated.js';

export type MessageHeader = Omit<GuestfsMessageHeader, 'proc' | 'direction' | 'status'> & {
  proc: number;
  direction: number;
  status: number;
};

export const messageHeader: Codec<MessageHeader> = struct<MessageHeader>('guestfs_message_header', {
  prog: uint,
  vers: uint,
  proc: int,
  direction: int,
  serial: uint,
  progress_hint: uhyper,
  optargs_bitmask: uhyper,
  status: int,
});
