import { isUtf8 } from 'node:buffer';
import type { ContentMasker } from '../masking/masking-types.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// The server's own words can carry a masked value past result masking: an error quoting the
// input it could not cast, a unique violation's key, a RAISE of a value read from a table, a
// NOTIFY payload. These rewriters mask them. A message nothing changes goes out as its original
// bytes; a changed one is rebuilt with every field, in its original order, and the fields
// clients branch on byte-identical.

/** An ErrorResponse or NoticeResponse after masking. */
export interface MaskedServerMessage {
  /** Its SQLSTATE (field C), as sent. */
  readonly code: string | undefined;
  /** Its message (field M) as the client receives it. */
  readonly message: string | undefined;
  /** The rebuilt frame, or undefined when nothing changed: forward the original bytes. */
  readonly bytes: Buffer | undefined;
}

/** Replaces a field whose every value a `null`-strategy rule hides (as the audit record does). */
const HIDDEN = '[hidden by a masking rule]';
const REDACTED = '[redacted]';
export const RAISED_REDACTION = '[redacted: a message raised while reading masked columns]';

const NUL = 0;
const FIELD = {
  code: 0x43, // C
  message: 0x4d, // M
  detail: 0x44, // D
  hint: 0x48, // H
  where: 0x57, // W
  internalQuery: 0x71, // q
} as const;

/**
 * Fields clients branch on or that hold no data: severity (S, V), SQLSTATE (C), positions (P, p)
 * and the server's source location (F, L, R). Every other field, unknown future ones included,
 * goes through the content masker.
 */
const STRUCTURAL = new Uint8Array(256);
for (const letter of 'SVCPpFLR') STRUCTURAL[letter.charCodeAt(0)] = 1;

/** Fields that quote values when the statement reads masked columns. */
const QUOTING = new Uint8Array(256);
for (const letter of 'MDWHq') QUOTING[letter.charCodeAt(0)] = 1;

/** Raised by PL/pgSQL RAISE unless it names another code: P0001 for EXCEPTION, 00000 for NOTICE/INFO/LOG, 01000 for WARNING. */
const RAISE_CODES: ReadonlySet<string> = new Set(['P0001', '00000', '01000']);

/** Hits in messages are not cells: they are counted here and dropped (the record counts cells per rule). */
const messageHits = new Map<string, number>();

interface Field {
  /** The field's type byte (0 for a notification's channel and payload). */
  readonly type: number;
  /** The text's bytes, `buffer[start, end)` (without the NUL). */
  readonly start: number;
  readonly end: number;
}

/**
 * Masks an ErrorResponse or NoticeResponse: content detectors over every non-structural field;
 * when `touchesMasked` (the statement it is about reads masked columns), quoted values in
 * M/D/W/H/q redacted, and a message RAISE may have built from a value replaced whole. Throws
 * ProtocolError for a malformed message.
 */
export function maskServerMessage(frame: Frame, content: ContentMasker, touchesMasked: boolean): MaskedServerMessage {
  const what = frame.code === BackendCode.ErrorResponse ? 'ErrorResponse' : 'NoticeResponse';
  const { buffer } = frame;
  const fields = readFields(frame, what);
  let code: string | undefined;
  let where = '';
  for (const field of fields) {
    if (field.type === FIELD.code) code = buffer.toString('utf8', field.start, field.end);
    else if (field.type === FIELD.where) where = buffer.toString('utf8', field.start, field.end);
  }
  const raised = touchesMasked && ((code !== undefined && RAISE_CODES.has(code)) || where.includes(' at RAISE'));

  let message: string | undefined;
  let replaced: (string | undefined)[] | undefined;
  fields.forEach((field, index) => {
    const { type } = field;
    if (STRUCTURAL[type] === 1) return;
    const text = buffer.toString('utf8', field.start, field.end);
    let next = content.empty ? text : masked(content, text);
    if (touchesMasked && QUOTING[type] === 1) {
      next = raised && (type === FIELD.message || type === FIELD.detail || type === FIELD.hint) ? RAISED_REDACTION : redactQuotedValues(next, type === FIELD.where || type === FIELD.internalQuery);
    }
    if (next !== text) {
      // Rewritten as UTF-8; in another client encoding only ASCII is safe to write.
      if (!isUtf8(buffer.subarray(field.start, field.end))) next = HIDDEN;
      (replaced ??= new Array<string | undefined>(fields.length))[index] = next;
    }
    if (type === FIELD.message) message = next;
  });
  return { code, message, bytes: replaced && rebuild(frame, fields, replaced, true) };
}

/**
 * Masks a NotificationResponse (int32 process id, channel, payload): content detectors over
 * channel and payload. Undefined when nothing changed. Throws ProtocolError for a malformed message.
 */
export function maskNotification(frame: Frame, content: ContentMasker): Buffer | undefined {
  if (content.empty) return undefined;
  const { buffer } = frame;
  const body = frame.start + 5;
  if (frame.end - body < 4) throw malformed('NotificationResponse', 'it is shorter than its process id');
  const channel = readString(frame, body + 4, 'NotificationResponse', 'its channel');
  const payload = readString(frame, channel.end + 1, 'NotificationResponse', 'its payload');
  if (payload.end + 1 !== frame.end) throw malformed('NotificationResponse', 'bytes after its payload');
  const fields: Field[] = [
    { type: 0, ...channel },
    { type: 0, ...payload },
  ];
  let replaced: (string | undefined)[] | undefined;
  fields.forEach((field, index) => {
    const text = buffer.toString('utf8', field.start, field.end);
    let next = masked(content, text);
    if (next === text) return;
    if (!isUtf8(buffer.subarray(field.start, field.end))) next = HIDDEN;
    (replaced ??= new Array<string | undefined>(fields.length))[index] = next;
  });
  return replaced && rebuild(frame, fields, replaced, false);
}

/**
 * Masks a ParameterStatus value (`SELECT set_config('application_name', <a value>, false)`
 * reports it back): content detectors over the value, the name kept. Undefined when nothing changed.
 */
export function maskParameterStatus(frame: Frame, content: ContentMasker): Buffer | undefined {
  if (content.empty) return undefined;
  const name = readString(frame, frame.start + 5, 'ParameterStatus', 'its name');
  const value = readString(frame, name.end + 1, 'ParameterStatus', 'its value');
  if (value.end + 1 !== frame.end) throw malformed('ParameterStatus', 'bytes after its value');
  const text = frame.buffer.toString('utf8', value.start, value.end);
  let next = masked(content, text);
  if (next === text) return undefined;
  if (!isUtf8(frame.buffer.subarray(value.start, value.end))) next = HIDDEN;
  return rebuild(frame, [{ type: 0, ...name }, { type: 0, ...value }], [undefined, next], false);
}

/**
 * Redacts the values PostgreSQL quotes in its messages (one field's text): `type integer: "x"`,
 * `Key (email)=(x) already exists.`, `Failing row contains (x).`, `value "x" is out of range`,
 * json's `Token "x" is invalid.` and `JSON data, line 1: x`, and, in `sql` text (context lines
 * and internal queries, which quote SQL), string literals. PostgreSQL does not escape quotes
 * inside these values, so each runs to the last closing quote or parenthesis: more is redacted,
 * never less.
 */
export function redactQuotedValues(text: string, sql = false): string {
  let out = text;
  out = redactBetween(out, 'Failing row contains (', ')');
  // An exclusion constraint's detail names two keys; each gets its own value redacted.
  out = out
    .split(' conflicts with existing key ')
    .map((part) => redactBetween(redactBetween(part, ')=(', ')'), ') = (', ')'))
    .join(' conflicts with existing key ');
  out = redactBetween(out, 'value "', '" is out of range');
  out = redactBetween(out, 'Token "', '" is invalid');
  out = redactLineAfter(out, 'JSON data, line ');
  out = redactBetween(out, ': "', '"');
  if (sql) out = redactBetween(out, "'", "'");
  return out;
}

/** `text` with what lies between the first `open` and the last `close` after it replaced by [redacted]. */
function redactBetween(text: string, open: string, close: string): string {
  const at = text.indexOf(open);
  if (at < 0) return text;
  const from = at + open.length;
  const to = text.lastIndexOf(close);
  if (to < from) return text;
  const redacted = `${text.slice(0, from)}${REDACTED}${text.slice(to)}`;
  return redacted === text ? text : redacted;
}

/** `text` with the rest of the line after `prefix`'s `: ` replaced by [redacted] (json's context line quotes the input unquoted). */
function redactLineAfter(text: string, prefix: string): string {
  const at = text.indexOf(prefix);
  if (at < 0) return text;
  const colon = text.indexOf(': ', at + prefix.length);
  if (colon < 0) return text;
  const from = colon + 2;
  const newline = text.indexOf('\n', from);
  const to = newline < 0 ? text.length : newline;
  if (text.slice(from, to) === REDACTED) return text;
  return `${text.slice(0, from)}${REDACTED}${text.slice(to)}`;
}

/** Content detectors over one string: the same string when nothing matched, HIDDEN for a `null`-strategy hit. */
function masked(content: ContentMasker, text: string): string {
  const result = content.mask(text, messageHits);
  messageHits.clear();
  if (result === undefined) return text;
  return result ?? HIDDEN;
}

/** The fields of an ErrorResponse / NoticeResponse, checked: each type byte, NUL-terminated text, a final NUL, nothing after. */
function readFields(frame: Frame, what: string): Field[] {
  const fields: Field[] = [];
  let at = frame.start + 5;
  for (;;) {
    if (at >= frame.end) throw malformed(what, 'it ends before its final field terminator');
    const type = frame.buffer[at]!;
    if (type === NUL) break;
    const field = readString(frame, at + 1, what, `field ${describeCode(type)}`);
    fields.push({ type, start: field.start, end: field.end });
    at = field.end + 1;
  }
  if (at + 1 !== frame.end) throw malformed(what, 'bytes after its final field');
  return fields;
}

/** The NUL-terminated string at `start`, as byte offsets (end at its NUL). */
function readString(frame: Frame, start: number, what: string, name: string): { start: number; end: number } {
  const nul = start < frame.end ? frame.buffer.indexOf(NUL, start) : -1;
  if (nul < 0 || nul >= frame.end) throw malformed(what, `${name} is not terminated`);
  return { start, end: nul };
}

/**
 * The frame again with `replaced` texts in place of the original fields'. Everything before the
 * first field (a notification's process id) is copied; `typed` fields (ErrorResponse,
 * NoticeResponse) keep their type byte, and the message keeps its final NUL.
 */
function rebuild(frame: Frame, fields: readonly Field[], replaced: readonly (string | undefined)[], typed: boolean): Buffer {
  const { buffer } = frame;
  const lead = typed ? 1 : 0;
  const parts: Buffer[] = [buffer.subarray(frame.start, fields[0]!.start - lead)];
  fields.forEach((field, index) => {
    if (typed) parts.push(buffer.subarray(field.start - 1, field.start));
    const text = replaced[index];
    parts.push(text === undefined ? buffer.subarray(field.start, field.end) : Buffer.from(text.replaceAll('\0', ''), 'utf8'), ZERO);
  });
  if (typed) parts.push(ZERO);
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length - 1, 1);
  return out;
}

const ZERO = Buffer.from([NUL]);

function malformed(what: string, reason: string): ProtocolError {
  return new ProtocolError(`malformed ${what} message from the server: ${reason}`);
}
