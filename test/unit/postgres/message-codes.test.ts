import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { describe, expect, it } from 'vitest';
import { BackendCode, FrontendCode, StartupCode, describeCode } from '../../../proxy/postgres/message-codes.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { int16, int32, typed } from '../../fixtures/postgres/protocol-messages.js';

describe('message codes', () => {
  it('name the type bytes pg-protocol writes for each frontend message', () => {
    const written: Record<keyof typeof FrontendCode, Buffer | undefined> = {
      Bind: serialize.bind({}),
      Close: serialize.close({ type: 'S' }),
      CopyData: serialize.copyData(Buffer.from('x')),
      CopyDone: serialize.copyDone(),
      CopyFail: serialize.copyFail('no'),
      Describe: serialize.describe({ type: 'P' }),
      Execute: serialize.execute({}),
      Flush: serialize.flush(),
      // node-postgres has no fast-path call; 'F' per the protocol documentation.
      FunctionCall: undefined,
      Parse: serialize.parse({ text: 'SELECT 1' }),
      Password: serialize.password('pw'),
      Query: serialize.query('SELECT 1'),
      Sync: serialize.sync(),
      Terminate: serialize.end(),
    };
    for (const [name, bytes] of Object.entries(written)) {
      expect(FrontendCode[name as keyof typeof FrontendCode], name).toBe(bytes?.[0] ?? 0x46);
    }
    expect(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'x')[0]).toBe(FrontendCode.Password);
  });

  it('name the type bytes pg-protocol reads as each backend message', () => {
    const bodies: Partial<Record<keyof typeof BackendCode, Buffer>> = {
      Authentication: int32(0),
      BackendKeyData: Buffer.concat([int32(1), int32(2)]),
      CommandComplete: Buffer.from('SELECT 1\0'),
      CopyInResponse: Buffer.concat([Buffer.from([0]), int16(0)]),
      CopyOutResponse: Buffer.concat([Buffer.from([0]), int16(0)]),
      DataRow: int16(0),
      ErrorResponse: Buffer.from([0]),
      NoticeResponse: Buffer.from([0]),
      NotificationResponse: Buffer.concat([int32(1), Buffer.from('c\0p\0')]),
      ParameterDescription: int16(0),
      ParameterStatus: Buffer.from('a\0b\0'),
      ReadyForQuery: Buffer.from('I'),
      RowDescription: int16(0),
    };
    const names: Partial<Record<keyof typeof BackendCode, string>> = {
      Authentication: 'authenticationOk',
      BackendKeyData: 'backendKeyData',
      BindComplete: 'bindComplete',
      CloseComplete: 'closeComplete',
      CommandComplete: 'commandComplete',
      CopyBothResponse: 'replicationStart',
      CopyData: 'copyData',
      CopyDone: 'copyDone',
      CopyInResponse: 'copyInResponse',
      CopyOutResponse: 'copyOutResponse',
      DataRow: 'dataRow',
      EmptyQueryResponse: 'emptyQuery',
      ErrorResponse: 'error',
      NoData: 'noData',
      NoticeResponse: 'notice',
      NotificationResponse: 'notification',
      ParameterDescription: 'parameterDescription',
      ParameterStatus: 'parameterStatus',
      ParseComplete: 'parseComplete',
      PortalSuspended: 'portalSuspended',
      ReadyForQuery: 'readyForQuery',
      RowDescription: 'rowDescription',
    };
    for (const [name, expected] of Object.entries(names)) {
      const code = BackendCode[name as keyof typeof BackendCode];
      const parsed: BackendMessage[] = [];
      new Parser().parse(typed(String.fromCharCode(code), bodies[name as keyof typeof BackendCode] ?? Buffer.alloc(0)), (message) => parsed.push(message));
      expect(parsed.map((message) => message.name), name).toEqual([expected]);
    }
    // Not known to pg-protocol; the letters the protocol documentation gives.
    expect([BackendCode.FunctionCallResponse, BackendCode.NegotiateProtocolVersion].map((code) => String.fromCharCode(code))).toEqual(['V', 'v']);
  });

  it('give every message of one direction its own code', () => {
    expect(new Set(Object.values(FrontendCode)).size).toBe(Object.keys(FrontendCode).length);
    expect(new Set(Object.values(BackendCode)).size).toBe(Object.keys(BackendCode).length);
  });

  it('carry the request codes of the untyped startup packets', () => {
    expect(serialize.startup({}).readInt32BE(4)).toBe(StartupCode.Protocol3);
    expect(serialize.requestSsl().readInt32BE(4)).toBe(StartupCode.SslRequest);
    expect(serialize.cancel(1, 2).readInt32BE(4)).toBe(StartupCode.CancelRequest);
    expect(StartupCode.GssEncRequest).toBe((1234 << 16) | 5680);
  });
});

describe('describeCode', () => {
  it('prints printable type bytes quoted and others in hex', () => {
    expect(describeCode(0x51)).toBe("'Q'");
    expect(describeCode(0x20)).toBe("' '");
    expect(describeCode(0x7e)).toBe("'~'");
    expect(describeCode(0x7f)).toBe('0x7f');
    expect(describeCode(0x1f)).toBe('0x1f');
    expect(describeCode(0x00)).toBe('0x00');
    expect(describeCode(0xff)).toBe('0xff');
  });
});

describe('ProtocolError', () => {
  it('carries protocol_violation unless given a more precise SQLSTATE', () => {
    const plain = new ProtocolError('bad length');
    expect(plain).toBeInstanceOf(Error);
    expect(plain.name).toBe('ProtocolError');
    expect(plain.sqlstate).toBe('08P01');
    expect(plain.message).toBe('bad length');
    expect(new ProtocolError('too big', '54000').sqlstate).toBe('54000');
    expect(String(plain)).toBe('ProtocolError: bad length');
  });
});
