import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { describe, expect, it } from 'vitest';
import {
  SSL_ACCEPT,
  SSL_REFUSE,
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  noticeResponse,
  parameterStatus,
  readyForQuery,
} from '../../../proxy/postgres/backend-writer.js';

/** Every message pg-protocol's client-side parser reads from `bytes`; fails unless it reads all of them. */
function parseAll(bytes: Buffer): (BackendMessage & Record<string, unknown>)[] {
  const messages: (BackendMessage & Record<string, unknown>)[] = [];
  const parser = new Parser();
  parser.parse(bytes, (message) => messages.push(message as BackendMessage & Record<string, unknown>));
  // A length word that disagrees with the body would leave bytes behind or swallow the next message.
  const sentinel = readyForQuery('I');
  const after: BackendMessage[] = [];
  parser.parse(sentinel, (message) => after.push(message));
  expect(after.map((message) => message.name)).toEqual(['readyForQuery']);
  return messages;
}

function parseOne(bytes: Buffer): BackendMessage & Record<string, unknown> {
  const messages = parseAll(bytes);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

/** The raw fields of an ErrorResponse/NoticeResponse, by field letter, read without pg-protocol. */
function fieldsOf(message: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 5;
  while (message[at] !== 0) {
    const letter = String.fromCharCode(message[at]!);
    const nul = message.indexOf(0, at + 1);
    fields.set(letter, message.toString('utf8', at + 1, nul));
    at = nul + 1;
  }
  expect(at).toBe(message.length - 1);
  return fields;
}

describe('errorResponse', () => {
  it('writes severity, SQLSTATE, message, detail and hint as a client reads them', () => {
    const bytes = errorResponse({ code: '28000', message: 'no token', detail: 'the token expired at 10:00', hint: 'run sluice login' });
    expect(bytes[0]).toBe(0x45);
    expect(parseOne(bytes)).toMatchObject({
      name: 'error',
      severity: 'ERROR',
      code: '28000',
      message: 'no token',
      detail: 'the token expired at 10:00',
      hint: 'run sluice login',
    });
  });

  it('writes FATAL when asked, and the non-localised severity field V as well as S', () => {
    const bytes = errorResponse({ severity: 'FATAL', code: '57P01', message: 'the gateway is shutting down' });
    expect(parseOne(bytes)).toMatchObject({ severity: 'FATAL', code: '57P01', message: 'the gateway is shutting down', detail: undefined, hint: undefined });
    expect([...fieldsOf(bytes)]).toEqual([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '57P01'],
      ['M', 'the gateway is shutting down'],
    ]);
  });

  it('drops NUL bytes inside fields instead of ending them early', () => {
    const bytes = errorResponse({ code: '22021', message: 'bad\0byte', detail: '\0lead', hint: 'trail\0' });
    expect(parseOne(bytes)).toMatchObject({ code: '22021', message: 'badbyte', detail: 'lead', hint: 'trail' });
  });

  it('keeps UTF-8 text intact and counts its length in bytes', () => {
    const bytes = errorResponse({ code: '42501', message: 'přístup odepřen — ☃ 🚫', detail: 'tabulka „účty“' });
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect(parseOne(bytes)).toMatchObject({ message: 'přístup odepřen — ☃ 🚫', detail: 'tabulka „účty“' });
  });

  it('leaves out an empty detail or hint', () => {
    expect([...fieldsOf(errorResponse({ code: 'XX000', message: 'm', detail: '', hint: '' })).keys()]).toEqual(['S', 'V', 'C', 'M']);
  });
});

describe('noticeResponse', () => {
  it('writes a NoticeResponse with NOTICE severity unless told otherwise', () => {
    const notice = noticeResponse({ code: '01000', message: 'masked 3 columns', hint: 'ask for approval' });
    expect(notice[0]).toBe(0x4e);
    expect(parseOne(notice)).toMatchObject({ name: 'notice', severity: 'NOTICE', code: '01000', message: 'masked 3 columns', hint: 'ask for approval' });
    expect(parseOne(noticeResponse({ severity: 'WARNING', code: '01000', message: 'w' }))).toMatchObject({ severity: 'WARNING' });
  });
});

describe('authentication and session messages', () => {
  it('writes AuthenticationOk and AuthenticationCleartextPassword', () => {
    expect(parseOne(authenticationOk())).toMatchObject({ name: 'authenticationOk', length: 8 });
    expect(parseOne(authenticationCleartextPassword())).toMatchObject({ name: 'authenticationCleartextPassword', length: 8 });
  });

  it('writes BackendKeyData with signed keys', () => {
    expect(parseOne(backendKeyData(2_147_483_646, -2_147_483_648))).toMatchObject({ name: 'backendKeyData', processID: 2_147_483_646, secretKey: -2_147_483_648 });
    expect(parseOne(backendKeyData(1, 0))).toMatchObject({ processID: 1, secretKey: 0 });
  });

  it('writes ReadyForQuery with each transaction status', () => {
    for (const status of ['I', 'T', 'E'] as const) expect(parseOne(readyForQuery(status))).toMatchObject({ name: 'readyForQuery', status });
  });

  it('writes ParameterStatus, dropping NULs from names and values', () => {
    expect(parseOne(parameterStatus('application_name', 'psql — ✓'))).toMatchObject({ name: 'parameterStatus', parameterName: 'application_name', parameterValue: 'psql — ✓' });
    expect(parseOne(parameterStatus('a\0b', 'c\0d'))).toMatchObject({ parameterName: 'ab', parameterValue: 'cd' });
    expect(parseOne(parameterStatus('x', ''))).toMatchObject({ parameterName: 'x', parameterValue: '' });
  });

  it('writes NegotiateProtocolVersion with minor 0 and the refused options', () => {
    // pg-protocol does not know this message, so it is read by hand.
    const bytes = negotiateProtocolVersion(['_pq_.compression', '_pq_.other']);
    expect(String.fromCharCode(bytes[0]!)).toBe('v');
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect(bytes.readInt32BE(5)).toBe(0);
    expect(bytes.readInt32BE(9)).toBe(2);
    expect(bytes.toString('utf8', 13)).toBe('_pq_.compression\0_pq_.other\0');
    const none = negotiateProtocolVersion([]);
    expect(none).toEqual(Buffer.from([0x76, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('answers SSLRequest with exactly one byte', () => {
    expect(SSL_ACCEPT).toEqual(Buffer.from('S'));
    expect(SSL_REFUSE).toEqual(Buffer.from('N'));
  });

  it('writes messages a client reads back to back in one stream', () => {
    const stream = Buffer.concat([
      authenticationOk(),
      parameterStatus('server_version', '18.0'),
      backendKeyData(7, 8),
      noticeResponse({ code: '01000', message: 'hello' }),
      readyForQuery('I'),
      errorResponse({ severity: 'FATAL', code: '57P01', message: 'bye' }),
    ]);
    expect(parseAll(stream).map((message) => message.name)).toEqual(['authenticationOk', 'parameterStatus', 'backendKeyData', 'notice', 'readyForQuery', 'error']);
  });
});
