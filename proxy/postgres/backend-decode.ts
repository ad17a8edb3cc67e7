import type { BackendMessage as PgProtocolMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { BodyReader } from './body-reader.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// Server frames the engine inspects. The ones login and the relay read on every session
// (ErrorResponse, NoticeResponse, Authentication*, ParameterStatus, BackendKeyData) are decoded
// here with bounds checks: pg-protocol's parser loops forever on an ErrorResponse or SASL
// mechanism list without its final NUL, keeps a half-parsed frame after it throws, and throws
// plain Errors. Other frames (RowDescription, ...) still go through pg-protocol, one fresh parser
// per frame, its failures turned into ProtocolError. The hot path (CommandComplete,
// ReadyForQuery) is read directly from the bytes.

export interface NoticeOrError {
  readonly name: 'error' | 'notice';
  readonly severity: string | undefined;
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  /** Every field by its one-letter type. */
  readonly fields: ReadonlyMap<string, string>;
}

export type Authentication =
  | { readonly name: 'authenticationOk' }
  | { readonly name: 'authenticationCleartextPassword' }
  | { readonly name: 'authenticationMD5Password'; readonly salt: Buffer }
  | { readonly name: 'authenticationSASL'; readonly mechanisms: readonly string[] }
  | { readonly name: 'authenticationSASLContinue'; readonly data: string }
  | { readonly name: 'authenticationSASLFinal'; readonly data: string };

export type BackendMessage =
  | NoticeOrError
  | Authentication
  | { readonly name: 'parameterStatus'; readonly parameterName: string; readonly parameterValue: string }
  | { readonly name: 'backendKeyData'; readonly processID: number; readonly secretKey: number }
  | { readonly name: 'other'; readonly message: PgProtocolMessage };

const AUTHENTICATION_NAMES: Readonly<Record<number, string>> = { 2: 'KerberosV5', 6: 'SCMCredential', 7: 'GSS', 8: 'GSSContinue', 9: 'SSPI' };

export function decodeBackend(frame: Frame): BackendMessage {
  switch (frame.code) {
    case BackendCode.ErrorResponse:
    case BackendCode.NoticeResponse:
      return decodeNoticeOrError(frame);
    case BackendCode.Authentication:
      return decodeAuthentication(frame);
    case BackendCode.ParameterStatus: {
      const body = new BodyReader(frame, 'ParameterStatus');
      const message = { name: 'parameterStatus', parameterName: body.cstring(), parameterValue: body.cstring() } as const;
      if (body.remaining !== 0) throw body.malformed('bytes after its value');
      return message;
    }
    case BackendCode.BackendKeyData: {
      const body = new BodyReader(frame, 'BackendKeyData');
      const message = { name: 'backendKeyData', processID: body.int32(), secretKey: body.int32() } as const;
      if (body.remaining !== 0) throw body.malformed('a key longer than protocol 3.0 allows');
      return message;
    }
    default:
      return { name: 'other', message: decodeWithPgProtocol(frame) };
  }
}

function decodeNoticeOrError(frame: Frame): NoticeOrError {
  const what = frame.code === BackendCode.ErrorResponse ? 'ErrorResponse' : 'NoticeResponse';
  const body = new BodyReader(frame, what);
  const fields = new Map<string, string>();
  for (let type = body.byte(); type !== 0; type = body.byte()) fields.set(String.fromCharCode(type), body.cstring());
  if (body.remaining !== 0) throw body.malformed('bytes after its final field');
  return {
    name: frame.code === BackendCode.ErrorResponse ? 'error' : 'notice',
    severity: fields.get('V') ?? fields.get('S'),
    code: fields.get('C'),
    message: fields.get('M'),
    detail: fields.get('D'),
    hint: fields.get('H'),
    fields,
  };
}

function decodeAuthentication(frame: Frame): Authentication {
  const body = new BodyReader(frame, 'Authentication');
  const type = body.int32();
  switch (type) {
    case 0:
      return { name: 'authenticationOk' };
    case 3:
      return { name: 'authenticationCleartextPassword' };
    case 5:
      return { name: 'authenticationMD5Password', salt: Buffer.from(body.bytes(4)) };
    case 10: {
      const mechanisms: string[] = [];
      for (let mechanism = body.cstring(); mechanism !== ''; mechanism = body.cstring()) mechanisms.push(mechanism);
      return { name: 'authenticationSASL', mechanisms };
    }
    case 11:
      return { name: 'authenticationSASLContinue', data: body.rest().toString('utf8') };
    case 12:
      return { name: 'authenticationSASLFinal', data: body.rest().toString('utf8') };
    default:
      throw new ProtocolError(`the server asks for ${AUTHENTICATION_NAMES[type] ?? `authentication method ${type}`}, which Sluice does not support`);
  }
}

function decodeWithPgProtocol(frame: Frame): PgProtocolMessage {
  let decoded: PgProtocolMessage | undefined;
  try {
    // A fresh parser per frame: one that threw keeps the bad frame and fails every later call.
    new Parser().parse(frame.buffer.subarray(frame.start, frame.end), (message) => {
      decoded = message;
    });
  } catch (error) {
    throw new ProtocolError(`malformed ${describeCode(frame.code)} message from the server: ${(error as Error).message}`);
  }
  if (!decoded) throw new ProtocolError(`the server sent a ${describeCode(frame.code)} message that could not be decoded`);
  return decoded;
}

/** The tag of a CommandComplete ("SELECT 3", "INSERT 0 1"). */
export function commandTag(frame: Frame): string {
  return frame.buffer.toString('utf8', frame.start + 5, Math.max(frame.start + 5, frame.end - 1));
}

/** Rows a command tag reports (its trailing number), 0 when it reports none ("CREATE TABLE"). */
export function rowsOfTag(tag: string): number {
  const space = tag.lastIndexOf(' ');
  if (space < 0) return 0;
  const digits = tag.slice(space + 1);
  return /^\d{1,15}$/.test(digits) ? Number(digits) : 0;
}

/** The transaction status byte of a ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' failed one. */
export function transactionStatus(frame: Frame): 'I' | 'T' | 'E' {
  if (frame.end - frame.start < 6) return 'I';
  const status = String.fromCharCode(frame.buffer[frame.start + 5]!);
  return status === 'T' || status === 'E' ? status : 'I';
}
