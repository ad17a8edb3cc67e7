import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// Single server frames the engine inspects (authentication, ErrorResponse, ParameterStatus)
// are decoded with pg-protocol: its objects are exactly what is needed there. The hot path
// (CommandComplete, ReadyForQuery) is read directly from the bytes.

const parser = new Parser();

export function decodeBackend(frame: Frame): BackendMessage {
  let decoded: BackendMessage | undefined;
  // A complete frame is consumed synchronously, so the shared parser holds no state between calls.
  parser.parse(frame.buffer.subarray(frame.start, frame.end), (message) => {
    decoded = message;
  });
  if (!decoded) throw new ProtocolError('the upstream sent a message that could not be decoded');
  return decoded;
}

/** The tag of a CommandComplete ("SELECT 3", "INSERT 0 1"). */
export function commandTag(frame: Frame): string {
  return frame.buffer.toString('utf8', frame.start + 5, Math.max(frame.start + 5, frame.end - 1));
}

/** Rows a command tag reports (its trailing number), 0 when it reports none ("CREATE TABLE"). */
export function rowsOfTag(tag: string): number {
  const space = tag.lastIndexOf(' ');
  const count = space < 0 ? NaN : Number(tag.slice(space + 1));
  return Number.isSafeInteger(count) ? count : 0;
}

/** The transaction status byte of a ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' failed one. */
export function transactionStatus(frame: Frame): 'I' | 'T' | 'E' {
  const status = String.fromCharCode(frame.buffer[frame.start + 5] ?? 0x49);
  return status === 'T' || status === 'E' ? status : 'I';
}
