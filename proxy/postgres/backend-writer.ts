import { cstring } from './cstring.js';
import { BackendCode } from './message-codes.js';

// The messages the gateway itself writes to clients. Everything else a client receives is the
// upstream's original bytes.

/** Fields of an ErrorResponse / NoticeResponse, by PostgreSQL's field letters. */
export interface ErrorFields {
  readonly severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING' | 'INFO' | 'LOG';
  /** SQLSTATE, five characters. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** A typed message: type byte, int32 length (itself included), body. */
function message(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function int32s(...values: number[]): Buffer {
  const body = Buffer.allocUnsafe(4 * values.length);
  values.forEach((value, index) => body.writeInt32BE(value, index * 4));
  return body;
}

function fieldsBody(fields: ErrorFields): Buffer {
  const parts: Buffer[] = [
    // 'S' is localised in PostgreSQL; 'V' is the stable one clients branch on.
    Buffer.from('S'), cstring(fields.severity),
    Buffer.from('V'), cstring(fields.severity),
    Buffer.from('C'), cstring(fields.code),
    Buffer.from('M'), cstring(fields.message),
  ];
  if (fields.detail) parts.push(Buffer.from('D'), cstring(fields.detail));
  if (fields.hint) parts.push(Buffer.from('H'), cstring(fields.hint));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function errorResponse(fields: Omit<ErrorFields, 'severity'> & { readonly severity?: 'ERROR' | 'FATAL' }): Buffer {
  return message(BackendCode.ErrorResponse, fieldsBody({ severity: 'ERROR', ...fields }));
}

export function noticeResponse(fields: Omit<ErrorFields, 'severity'> & { readonly severity?: 'NOTICE' | 'WARNING' | 'INFO' }): Buffer {
  return message(BackendCode.NoticeResponse, fieldsBody({ severity: 'NOTICE', ...fields }));
}

export function authenticationOk(): Buffer {
  return message(BackendCode.Authentication, int32s(0));
}

export function authenticationCleartextPassword(): Buffer {
  return message(BackendCode.Authentication, int32s(3));
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  return message(BackendCode.BackendKeyData, int32s(processId, secretKey));
}

export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return message(BackendCode.ReadyForQuery, Buffer.from(status, 'latin1'));
}

export function parameterStatus(name: string, value: string): Buffer {
  return message(BackendCode.ParameterStatus, Buffer.concat([cstring(name), cstring(value)]));
}

/** Tells a client asking for protocol 3.x (x > 0) or `_pq_.` options that the gateway speaks 3.0 without them. */
export function negotiateProtocolVersion(unsupportedOptions: readonly string[]): Buffer {
  return message(BackendCode.NegotiateProtocolVersion, Buffer.concat([int32s(0, unsupportedOptions.length), ...unsupportedOptions.map(cstring)]));
}

/** The one-byte answers to SSLRequest / GSSENCRequest. */
export const SSL_ACCEPT = Buffer.from('S');
export const SSL_REFUSE = Buffer.from('N');
