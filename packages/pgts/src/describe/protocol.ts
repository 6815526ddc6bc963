// The few frontend/backend protocol messages a describe needs, built and read by hand so
// that PGlite's execProtocolRaw returns the table OID and column number of every result
// column (PGlite's own describeQuery() drops those two).
import { PostgresError, type StatementDescription } from './connection.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function cstring(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parse (unnamed statement, no parameter types given) + Describe statement + Sync. */
export function describeMessages(sql: string): Uint8Array {
  return concat([
    message('P', concat([cstring(''), cstring(sql), new Uint8Array(2)])),
    message('D', concat([encoder.encode('S'), cstring('')])),
    message('S', new Uint8Array(0)),
  ]);
}

/** Reads the backend's answer to describeMessages(). Throws PostgresError for an ErrorResponse. */
export function readDescribeReply(reply: Uint8Array): StatementDescription {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const result: StatementDescription = { paramTypes: [], columns: [] };
  let error: PostgresError | undefined;
  let at = 0;
  while (at + 5 <= reply.length) {
    const type = String.fromCharCode(view.getUint8(at));
    const length = view.getInt32(at + 1);
    const body = at + 5;
    const end = at + 1 + length;
    if (type === 't') {
      const count = view.getInt16(body);
      for (let k = 0; k < count; k++) result.paramTypes.push(view.getUint32(body + 2 + 4 * k));
    } else if (type === 'T') {
      const count = view.getInt16(body);
      let p = body + 2;
      for (let k = 0; k < count; k++) {
        const nul = reply.indexOf(0, p);
        const name = decoder.decode(reply.subarray(p, nul));
        p = nul + 1;
        result.columns.push({
          name,
          tableOid: view.getUint32(p),
          attnum: view.getInt16(p + 4),
          typeOid: view.getUint32(p + 6),
        });
        p += 18;
      }
    } else if (type === 'E') {
      error = readError(reply.subarray(body, end));
    }
    at = end;
  }
  if (error !== undefined) throw error;
  return result;
}

function readError(body: Uint8Array): PostgresError {
  const fields = new Map<string, string>();
  let p = 0;
  while (p < body.length && body[p] !== 0) {
    const code = String.fromCharCode(body[p] ?? 0);
    const nul = body.indexOf(0, p + 1);
    fields.set(code, decoder.decode(body.subarray(p + 1, nul)));
    p = nul + 1;
  }
  const position = fields.get('P');
  return new PostgresError(
    fields.get('M') ?? 'unknown error',
    position === undefined ? undefined : Number(position),
    fields.get('C'),
    fields.get('D'),
    fields.get('H'),
  );
}
