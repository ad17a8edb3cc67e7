import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { decodeBind, decodeExecute, decodeParse, decodePassword, decodeQuery, decodeStartup, decodeTarget } from '../../../proxy/postgres/frontend-decode.js';
import type { Frame } from '../../../proxy/postgres/message-reader.js';
import { StartupCode } from '../../../proxy/postgres/message-codes.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { cstring, frameOf, gssEncRequest, int16, int32, mixedBind, sslRequest, startupMessage, startupPacket, typed } from '../../fixtures/postgres/protocol-messages.js';

/** Runs `decode` and returns the ProtocolError it must throw; anything else fails the test. */
function refusal(decode: () => unknown): ProtocolError {
  let result: unknown;
  try {
    result = decode();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw new Error(`expected a ProtocolError, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected a ProtocolError, but it decoded to ${JSON.stringify(result)}`);
}

/**
 * The frame of `message` cut after `bodyBytes` bytes of its body. The bytes after the cut stay in
 * the buffer, as the next message would in a received chunk: a decoder must not read them.
 */
function truncated(message: Buffer, bodyBytes: number, startup = false): Frame {
  const header = startup ? 4 : 5;
  return { code: startup ? 0 : message[0]!, buffer: message, start: 0, end: header + bodyBytes };
}

/** A frame in the middle of a larger buffer, as the reader hands them out. */
function embedded(message: Buffer, startup = false): Frame {
  const before = serialize.query('SELECT 0');
  const after = serialize.query('SELECT 2');
  const buffer = Buffer.concat([before, message, after]);
  return { code: startup ? 0 : message[0]!, buffer, start: before.length, end: before.length + message.length };
}

describe('decodeStartup', () => {
  it('reads the protocol version and parameters of a StartupMessage, in order', () => {
    const packet = decodeStartup(frameOf(startupMessage, { startup: true }));
    expect(packet).toEqual({
      kind: 'startup',
      minor: 0,
      parameters: new Map([
        ['user', 'alice'],
        ['database', 'shop'],
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
      ]),
    });
    expect(decodeStartup(embedded(startupMessage, true))).toEqual(packet);
  });

  it('reads UTF-8 parameter values and empty ones', () => {
    const packet = decodeStartup(frameOf(serialize.startup({ user: 'žofie', options: '' }), { startup: true }));
    expect(packet.kind === 'startup' && [...packet.parameters]).toEqual([
      ['user', 'žofie'],
      ['options', ''],
      ['client_encoding', 'UTF8'],
    ]);
  });

  it('reports the minor version a 3.x client asks for', () => {
    const packet = decodeStartup(frameOf(startupPacket(0x00030002, cstring('user'), cstring('bob'), Buffer.from([0])), { startup: true }));
    expect(packet).toEqual({ kind: 'startup', minor: 2, parameters: new Map([['user', 'bob']]) });
  });

  it('recognises SSLRequest, GSSENCRequest and CancelRequest by their codes', () => {
    expect(decodeStartup(frameOf(sslRequest, { startup: true }))).toEqual({ kind: 'ssl' });
    expect(decodeStartup(frameOf(gssEncRequest, { startup: true }))).toEqual({ kind: 'gssenc' });
    expect(decodeStartup(frameOf(serialize.cancel(4242, -123456789), { startup: true }))).toEqual({ kind: 'cancel', processId: 4242, secretKey: -123456789 });
    expect(sslRequest.readInt32BE(4)).toBe(StartupCode.SslRequest);
  });

  it('refuses protocol 2.0 and other majors with SQLSTATE 0A000', () => {
    for (const version of [0x00020000, 0x00040000, 0x00000000, 0xffff0000 | 0]) {
      const error = refusal(() => decodeStartup(frameOf(startupPacket(version, Buffer.from([0])), { startup: true })));
      expect(error.sqlstate).toBe('0A000');
      expect(error.message).toContain(`unsupported frontend protocol ${version >>> 16}.0`);
    }
  });

  it('takes the last value of a parameter given twice, as PostgreSQL does', () => {
    const packet = startupPacket(StartupCode.Protocol3, cstring('client_encoding'), cstring('LATIN1'), cstring('client_encoding'), cstring('UTF8'), Buffer.from([0]));
    const decoded = decodeStartup(frameOf(packet, { startup: true }));
    expect(decoded.kind === 'startup' && [...decoded.parameters]).toEqual([['client_encoding', 'UTF8']]);
  });

  it('refuses a parameter list that is not terminated, a name without a value, and bytes after the list', () => {
    const refusals = [
      startupPacket(StartupCode.Protocol3, cstring('user'), cstring('alice')),
      startupPacket(StartupCode.Protocol3, cstring('user'), Buffer.from([0x61])),
      startupPacket(StartupCode.Protocol3, cstring('user'), Buffer.from([0])),
      startupPacket(StartupCode.Protocol3, cstring('user'), cstring('alice'), Buffer.from([0, 0x78])),
      startupPacket(StartupCode.Protocol3),
    ].map((packet) => refusal(() => decodeStartup(frameOf(packet, { startup: true }))));
    for (const error of refusals) expect(error.sqlstate).toBe('08P01');
    expect(refusals[3]!.message).toContain('bytes after the parameter list');
  });

  it('refuses a CancelRequest without its key', () => {
    const cancel = serialize.cancel(1, 2);
    for (let body = 4; body < 12; body++) refusal(() => decodeStartup(truncated(cancel, body, true)));
  });

  it('refuses a StartupMessage cut anywhere, without reading past the frame', () => {
    for (let body = 0; body < startupMessage.length - 4; body++) refusal(() => decodeStartup(truncated(startupMessage, body, true)));
  });
});

describe('decodePassword and decodeQuery', () => {
  it('read the string pg-protocol wrote', () => {
    expect(decodePassword(frameOf(serialize.password('s3cret')))).toBe('s3cret');
    expect(decodePassword(frameOf(serialize.password('')))).toBe('');
    expect(decodePassword(embedded(serialize.password('pässwörd ✓')))).toBe('pässwörd ✓');
    expect(decodeQuery(frameOf(serialize.query('SELECT 1')))).toBe('SELECT 1');
    expect(decodeQuery(embedded(serialize.query("SELECT 'Kč' -- ☃\nFROM t")))).toBe("SELECT 'Kč' -- ☃\nFROM t");
  });

  it('refuse a string without its NUL terminator, even when the next message supplies one', () => {
    const query = serialize.query('SELECT 1');
    for (let body = 0; body < query.length - 5; body++) {
      expect(refusal(() => decodeQuery(truncated(query, body))).message).toBe('malformed Query message: a string is not terminated');
    }
    const password = serialize.password('hunter2');
    for (let body = 0; body < password.length - 5; body++) {
      expect(refusal(() => decodePassword(truncated(password, body))).message).toBe('malformed password message: a string is not terminated');
    }
  });
});

describe('decodeParse', () => {
  it('reads the statement name and text pg-protocol wrote', () => {
    expect(decodeParse(frameOf(serialize.parse({ name: 's1', text: 'SELECT $1::int', types: [23] })))).toEqual({ statement: 's1', text: 'SELECT $1::int' });
    expect(decodeParse(embedded(serialize.parse({ text: 'SELECT now()' })))).toEqual({ statement: '', text: 'SELECT now()' });
  });

  it('refuses a Parse cut before the end of its text', () => {
    const parse = serialize.parse({ name: 'stmt', text: 'SELECT 1', types: [23] });
    const required = 'stmt\0SELECT 1\0'.length;
    for (let body = 0; body < required; body++) refusal(() => decodeParse(truncated(parse, body)));
  });
});

describe('decodeBind', () => {
  it('reads text, binary and NULL parameters as pg-protocol wrote them', () => {
    const bind = decodeBind(frameOf(mixedBind));
    expect(bind).toMatchObject({ portal: 'p1', statement: 's1', values: ['42', Buffer.from([0xde, 0xad, 0xbe, 0xef]), null] });
    expect(decodeBind(embedded(mixedBind))).toEqual(bind);
    expect(decodeBind(frameOf(serialize.bind({})))).toEqual({ portal: '', statement: '', values: [], resultFormats: [0] });
    expect(decodeBind(frameOf(serialize.bind({ values: ['', Buffer.alloc(0)] })))).toEqual({ portal: '', statement: '', values: ['', Buffer.alloc(0)], resultFormats: [0] });
    // The result-format codes at the end: what the rows of the portal will travel in.
    expect(decodeBind(frameOf(serialize.bind({ binary: true }))).resultFormats).toEqual([1]);
  });

  it('applies no format code as text for all, and a single format code to every parameter', () => {
    const values = [int32(2), Buffer.from('ab'), int32(-1), int32(1), Buffer.from([0xff])];
    const none = typed('B', cstring(''), cstring(''), int16(0), int16(3), ...values, int16(0));
    expect(decodeBind(frameOf(none)).values).toEqual(['ab', null, '\ufffd']);
    const binary = typed('B', cstring(''), cstring(''), int16(1), int16(1), int16(3), ...values, int16(0));
    expect(decodeBind(frameOf(binary)).values).toEqual([Buffer.from('ab'), null, Buffer.from([0xff])]);
    const perValue = typed('B', cstring(''), cstring(''), int16(3), int16(1), int16(0), int16(1), int16(3), ...values, int16(0));
    expect(decodeBind(frameOf(perValue)).values).toEqual([Buffer.from('ab'), null, Buffer.from([0xff])]);
  });

  it('refuses a Bind whose format codes do not match its parameters', () => {
    const bind = typed('B', cstring(''), cstring(''), int16(2), int16(0), int16(0), int16(3), int32(1), Buffer.from('a'), int32(1), Buffer.from('b'), int32(1), Buffer.from('c'), int16(0));
    expect(refusal(() => decodeBind(frameOf(bind))).message).toBe('malformed Bind message: 2 parameter formats for 3 parameters');
  });

  it('refuses a parameter length that runs past the message, whatever follows it in the buffer', () => {
    const lying = typed('B', cstring(''), cstring(''), int16(0), int16(1), int32(100), Buffer.from('short'), int16(0));
    expect(refusal(() => decodeBind(frameOf(lying))).message).toBe('malformed Bind message: it is shorter than its contents');
    expect(refusal(() => decodeBind(embedded(lying))).message).toBe('malformed Bind message: it is shorter than its contents');
    const huge = typed('B', cstring(''), cstring(''), int16(0), int16(1), int32(0x7fffffff), int16(0));
    refusal(() => decodeBind(frameOf(huge)));
  });

  it('refuses negative lengths other than -1', () => {
    for (const length of [-2, -100, -0x80000000]) {
      const bind = typed('B', cstring(''), cstring(''), int16(0), int16(1), int32(length), Buffer.alloc(8), int16(0));
      refusal(() => decodeBind(frameOf(bind)));
    }
  });

  it('refuses more parameters than the message holds', () => {
    const bind = typed('B', cstring(''), cstring(''), int16(0), int16(3), int32(1), Buffer.from('a'), int16(0));
    refusal(() => decodeBind(frameOf(bind)));
  });

  it('refuses a Bind cut anywhere before the end of its last parameter', () => {
    // pg-protocol ends a Bind with one result format code (4 bytes) the decoder does not need.
    const required = mixedBind.length - 5 - 4;
    for (let body = 0; body < required; body++) refusal(() => decodeBind(truncated(mixedBind, body)));
  });

  // BUG (frontend-decode.ts decodeBind, lines 122 and 125): the format and parameter counts
  // are read as signed int16, while PostgreSQL reads them unsigned (pq_getmsgint(msg, 2)).
  // A Bind with 32,768 parameters runs upstream with all of them (checked against PostgreSQL 18:
  // Parse 'SELECT $32768::text' + this Bind returns 'v32768'), yet decodes here to no
  // parameters at all, so the audit records none.
  it('reads a Bind with 32,768 parameters as PostgreSQL does (unsigned counts)', () => {
    const values = Array.from({ length: 32_768 }, (_, i) => `v${i + 1}`);
    const bind = serialize.bind({ values });
    expect(bind.readUInt16BE(7)).toBe(32_768);
    const decoded = decodeBind(frameOf(bind));
    expect(decoded.values).toHaveLength(32_768);
    expect(decoded.values.at(-1)).toBe('v32768');
  });
});

describe('decodeExecute', () => {
  it('reads the portal and row limit pg-protocol wrote', () => {
    expect(decodeExecute(frameOf(serialize.execute({ portal: 'p1', rows: 100 })))).toEqual({ portal: 'p1', maxRows: 100 });
    expect(decodeExecute(embedded(serialize.execute({})))).toEqual({ portal: '', maxRows: 0 });
  });

  it('refuses an Execute cut anywhere', () => {
    const execute = serialize.execute({ portal: 'cursor', rows: 5 });
    for (let body = 0; body < execute.length - 5; body++) refusal(() => decodeExecute(truncated(execute, body)));
  });
});

describe('decodeTarget', () => {
  it('reads Close and Describe of statements and portals', () => {
    expect(decodeTarget(frameOf(serialize.close({ type: 'S', name: 's1' })))).toEqual({ target: 'statement', name: 's1' });
    expect(decodeTarget(frameOf(serialize.close({ type: 'P', name: '' })))).toEqual({ target: 'portal', name: '' });
    expect(decodeTarget(embedded(serialize.describe({ type: 'P', name: 'p1' })))).toEqual({ target: 'portal', name: 'p1' });
    expect(decodeTarget(frameOf(serialize.describe({ type: 'S', name: 'ü' })))).toEqual({ target: 'statement', name: 'ü' });
  });

  it('refuses a target other than S or P, naming the message', () => {
    expect(refusal(() => decodeTarget(frameOf(typed('C', Buffer.from('X'), cstring('s1'))))).message).toBe("malformed 'C' message: target must be 'S' or 'P'");
    expect(refusal(() => decodeTarget(frameOf(typed('D', Buffer.from('s'), cstring('s1'))))).message).toBe("malformed 'D' message: target must be 'S' or 'P'");
  });

  it('refuses a Close or Describe cut anywhere', () => {
    for (const message of [serialize.close({ type: 'S', name: 'abc' }), serialize.describe({ type: 'P', name: 'abc' })]) {
      for (let body = 0; body < message.length - 5; body++) refusal(() => decodeTarget(truncated(message, body)));
    }
  });
});
