// The frontend/backend protocol messages pgts sends to PGlite through execProtocolRaw, built
// and read by hand: a describe that keeps the table OID and column number of every result
// column (PGlite's own describeQuery() drops those two), and named prepared statements at
// run time (Parse once, then Bind + Execute).
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

function int16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parse (no parameter types given: PostgreSQL infers them) + Describe statement + Sync. */
export function describeMessages(sql: string, name = ''): Uint8Array {
  return concat([
    message('P', concat([cstring(name), cstring(sql), int16(0)])),
    message('D', concat([encoder.encode('S'), cstring(name)])),
    message('S', new Uint8Array(0)),
  ]);
}

/** Bind (text parameters, text results) + Execute (all rows) + Sync. */
export function executeMessages(name: string, values: Array<string | null>): Uint8Array {
  const params = values.map((v) => {
    if (v === null) return int32(-1);
    const bytes = encoder.encode(v);
    return concat([int32(bytes.length), bytes]);
  });
  return concat([
    message(
      'B',
      concat([cstring(''), cstring(name), int16(0), int16(values.length), ...params, int16(0)]),
    ),
    message('E', concat([cstring(''), int32(0)])),
    message('S', new Uint8Array(0)),
  ]);
}

/** A simple query (BEGIN, COMMIT, ROLLBACK). */
export function simpleQueryMessage(sql: string): Uint8Array {
  return message('Q', cstring(sql));
}

export interface Reply extends StatementDescription {
  /** Data rows as text (null for NULL). */
  rows: Array<Array<string | null>>;
  /** The last CommandComplete tag, e.g. "UPDATE 2". */
  commandTag: string | undefined;
}

/** Reads the backend's answer. Throws PostgresError for an ErrorResponse. */
export function readReply(reply: Uint8Array): Reply {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const result: Reply = { paramTypes: [], columns: [], rows: [], commandTag: undefined };
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
    } else if (type === 'D') {
      const count = view.getInt16(body);
      const row: Array<string | null> = [];
      let p = body + 2;
      for (let k = 0; k < count; k++) {
        const size = view.getInt32(p);
        p += 4;
        if (size < 0) row.push(null);
        else {
          row.push(decoder.decode(reply.subarray(p, p + size)));
          p += size;
        }
      }
      result.rows.push(row);
    } else if (type === 'C') {
      result.commandTag = decoder.decode(reply.subarray(body, end - 1));
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
