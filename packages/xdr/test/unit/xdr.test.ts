import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Codec,
  type Infer,
  XdrError,
  XdrReader,
  XdrWriter,
  array,
  bool,
  decode,
  double,
  encode,
  enumeration,
  fixedArray,
  fixedOpaque,
  float,
  hyper,
  int,
  opaque,
  optional,
  string,
  struct,
  uhyper,
  uint,
  union,
  xvoid,
} from '../../src/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function roundTrip<T>(c: Codec<T>, value: T, wire: string): void {
  assert.equal(hex(encode(c, value)), wire.replace(/\s+/g, ''));
  assert.deepEqual(decode(c, bytes(wire)), value);
}

function rejects(f: () => unknown, code: string, messagePart: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof XdrError, `expected XdrError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, messagePart);
    return true;
  });
}

void describe('integers', () => {
  void it('int is big-endian two-complement', () => {
    roundTrip(int, 1, '00000001');
    roundTrip(int, -1, 'ffffffff');
    roundTrip(int, -0x80000000, '80000000');
    roundTrip(int, 0x7fffffff, '7fffffff');
  });
  void it('unsigned int', () => {
    roundTrip(uint, 0xffffffff, 'ffffffff');
    roundTrip(uint, 0x01020304, '01020304');
  });
  void it('hyper and unsigned hyper are bigints covering the full 64-bit range', () => {
    roundTrip(hyper, -1n, 'ffffffffffffffff');
    roundTrip(hyper, -(1n << 63n), '8000000000000000');
    roundTrip(uhyper, (1n << 64n) - 1n, 'ffffffffffffffff');
    roundTrip(uhyper, 3n * 1024n ** 3n, '00000000c0000000');
  });
  void it('refuses values out of range instead of wrapping', () => {
    rejects(() => encode(int, 0x80000000), 'XDR_INVALID', /not a valid int/);
    rejects(() => encode(int, 1.5), 'XDR_INVALID', /not a valid int/);
    rejects(() => encode(uint, -1), 'XDR_INVALID', /not a valid unsigned int/);
    rejects(() => encode(uhyper, -1n), 'XDR_INVALID', /unsigned hyper/);
    rejects(() => encode(hyper, 1n << 63n), 'XDR_INVALID', /hyper/);
  });
  void it('float and double', () => {
    roundTrip(double, 1.5, '3ff8000000000000');
    roundTrip(float, -2, 'c0000000');
  });
});

void describe('bool and enum', () => {
  void it('bool is 0 or 1', () => {
    roundTrip(bool, true, '00000001');
    roundTrip(bool, false, '00000000');
    rejects(() => decode(bool, bytes('00000002')), 'XDR_INVALID', /bool must be 0 or 1, got 2/);
  });
  const color = enumeration('color', { RED: 0, GREEN: 1, BLUE: 5 });
  void it('enum accepts members only', () => {
    roundTrip(color, 5, '00000005');
    rejects(
      () => decode(color, bytes('00000002')),
      'XDR_INVALID',
      /2 is not a member of enum color/,
    );
    rejects(() => color.encode(new XdrWriter(), 3 as 5), 'XDR_INVALID', /enum color/);
  });
});

void describe('opaque and string', () => {
  void it('fixed opaque is padded to four bytes', () => {
    roundTrip(fixedOpaque(5), bytes('0102030405'), '01020304 05000000');
    rejects(() => encode(fixedOpaque(4), bytes('01')), 'XDR_INVALID', /opaque\[4\] given 1 bytes/);
  });
  void it('variable opaque has a length prefix', () => {
    roundTrip(opaque(), bytes('aabbcc'), '00000003 aabbcc00');
    roundTrip(opaque(), bytes(''), '00000000');
  });
  void it('string is UTF-8 with a byte length', () => {
    roundTrip(string(), 'héllo', '00000006 68c3a96c 6c6f0000');
    roundTrip(string(), '', '00000000');
  });
  void it('refuses strings longer than the definition allows, both ways', () => {
    rejects(
      () => encode(string(3), 'abcd'),
      'XDR_OVERSIZE',
      /string<3> length 4 exceeds the maximum 3/,
    );
    rejects(
      () => decode(string(3), bytes('00000004 61626364')),
      'XDR_OVERSIZE',
      /string<3> length 4 exceeds the maximum 3/,
    );
  });
  void it('refuses a length longer than the input before allocating', () => {
    rejects(() => decode(opaque(), bytes('7fffffff 00')), 'XDR_TRUNCATED', /only 1 bytes left/);
  });
  void it('refuses non-zero padding and invalid UTF-8', () => {
    rejects(() => decode(opaque(), bytes('00000001 aa00ff00')), 'XDR_INVALID', /non-zero padding/);
    rejects(() => decode(string(), bytes('00000002 c3280000')), 'XDR_INVALID', /not valid UTF-8/);
  });
  void it('reads and writes strings as bytes when asked (file names that are not UTF-8)', () => {
    const wire = bytes('00000004 ff2fc328');
    const r = new XdrReader(wire, 0, { strings: 'bytes' });
    const name = string().decode(r);
    assert.equal(name, '\xff/\xc3\x28');
    const w = new XdrWriter(8, { strings: 'bytes' });
    string().encode(w, name);
    assert.equal(hex(w.finish()), hex(wire));
    rejects(
      () => string().encode(new XdrWriter(8, { strings: 'bytes' }), 'é€'),
      'XDR_INVALID',
      /above U\+00FF/,
    );
    // The default stays strict UTF-8.
    assert.equal(new XdrReader(wire).strings, 'utf8');
  });
});

void describe('arrays and optional data', () => {
  void it('fixed arrays carry no count', () => {
    roundTrip(fixedArray(int, 2), [1, 2], '00000001 00000002');
    rejects(() => encode(fixedArray(int, 2), [1]), 'XDR_INVALID', /int\[2\] given 1 elements/);
  });
  void it('variable arrays carry a count and respect the maximum', () => {
    roundTrip(array(string()), ['a', 'bc'], '00000002 00000001 61000000 00000002 62630000');
    rejects(() => encode(array(int, 1), [1, 2]), 'XDR_OVERSIZE', /int<1> length 2/);
    rejects(
      () => decode(array(int, 1), bytes('00000002 00000001 00000002')),
      'XDR_OVERSIZE',
      /int<1>/,
    );
  });
  void it('refuses an element count the input cannot hold', () => {
    rejects(
      () => decode(array(int), bytes('10000000 00000001')),
      'XDR_TRUNCATED',
      /268435456 elements/,
    );
  });
  void it('optional data is a flag then the value; absent is null', () => {
    roundTrip(optional(int), null, '00000000');
    roundTrip(optional(int), 7, '00000001 00000007');
    rejects(() => decode(optional(int), bytes('00000002')), 'XDR_INVALID', /optional-data flag/);
  });
  void it('optional can build linked lists (RFC 4506 section 4.19)', () => {
    interface Node {
      value: number;
      next: Node | null;
    }
    const node: Codec<Node> = {
      name: 'node',
      encode: (w, v) => nodeStruct.encode(w, v),
      decode: (r) => nodeStruct.decode(r),
    };
    const nodeStruct: Codec<Node> = struct<Node>('node', { value: int, next: optional(node) });
    roundTrip(
      node,
      { value: 1, next: { value: 2, next: null } },
      '00000001 00000001 00000002 00000000',
    );
  });
});

void describe('structs and unions', () => {
  // The example of RFC 4506 section 7, byte for byte.
  const filekind = enumeration('filekind', { TEXT: 0, DATA: 1, EXEC: 2 });
  const filetype = union<{ 0: void; 1: string; 2: string }>('filetype', {
    0: xvoid,
    1: string(255),
    2: string(255),
  });
  const file = struct('file', {
    filename: string(255),
    type: filetype,
    owner: string(255),
    data: opaque(),
  });
  const rfcExample = `
    00000009 73696c6c 7970726f 67000000
    00000002 00000004 6c697370
    00000004 6a6f686e
    00000006 28717569 74290000`;

  void it('encodes the RFC 4506 example exactly', () => {
    const value: Infer<typeof file> = {
      filename: 'sillyprog',
      type: { tag: 2, value: 'lisp' },
      owner: 'john',
      data: new TextEncoder().encode('(quit)'),
    };
    roundTrip(file, value, rfcExample);
    assert.equal(filekind.name, 'filekind');
  });

  void it('void arms carry nothing', () => {
    roundTrip(filetype, { tag: 0, value: undefined }, '00000000');
  });

  void it('unknown discriminants are refused', () => {
    rejects(
      () => decode(filetype, bytes('00000009')),
      'XDR_INVALID',
      /9 is not a valid discriminant of union filetype/,
    );
  });

  void it('truncated input names the field being decoded', () => {
    const cut = bytes(rfcExample).subarray(0, 30);
    rejects(() => decode(file, cut), 'XDR_TRUNCATED', /^XDR: file\.owner: input truncated/);
  });

  void it('errors deep inside arrays name the path', () => {
    const pair = struct('pair', { a: int, b: bool });
    const list = struct('list', { items: array(pair) });
    rejects(
      () => decode(list, bytes('00000002 00000001 00000000 00000002 00000003')),
      'XDR_INVALID',
      /^XDR: list\.items\[1\]\.pair\.b: bool must be 0 or 1, got 3/,
    );
  });

  void it('leftover bytes after a value are an error', () => {
    rejects(
      () => decode(int, bytes('00000001 00000002')),
      'XDR_TRAILING',
      /4 bytes left over after decoding int/,
    );
  });

  void it('every prefix of a valid encoding is refused as truncated, never misread', () => {
    const full = bytes(rfcExample);
    for (let n = 0; n < full.byteLength; n++) {
      assert.throws(
        () => decode(file, full.subarray(0, n)),
        (e: unknown) => e instanceof XdrError && e.code === 'XDR_TRUNCATED',
        `prefix of ${n} bytes`,
      );
    }
  });

  void it('random bytes never crash the decoder with anything but XdrError', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const buf = new Uint8Array(rand() % 64);
      for (let j = 0; j < buf.length; j++) buf[j] = rand() & 0xff;
      try {
        decode(file, buf);
      } catch (e) {
        assert.ok(e instanceof XdrError, `unexpected ${String(e)}`);
      }
    }
  });
});

void describe('writer', () => {
  void it('grows while writing every primitive (the view is replaced when it grows)', () => {
    for (const write of [
      (w: XdrWriter) => w.int(-1),
      (w: XdrWriter) => w.uint(1),
      (w: XdrWriter) => w.hyper(-1n),
      (w: XdrWriter) => w.uhyper(1n),
      (w: XdrWriter) => w.float(1.5),
      (w: XdrWriter) => w.double(1.5),
    ]) {
      const w = new XdrWriter(1);
      for (let i = 0; i < 100; i++) write(w);
      const r = new XdrReader(w.finish());
      assert.ok(r.remaining >= 400);
    }
  });
});
