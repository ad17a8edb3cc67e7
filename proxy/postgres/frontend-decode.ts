import type { Frame } from './message-reader.js';
import { describeCode, StartupCode } from './message-codes.js';
import { ProtocolError } from './protocol-error.js';
import { BodyReader } from './body-reader.js';

// Decoders for the client messages the engine inspects. Each reads one complete frame and
// throws ProtocolError on anything malformed; the relay still forwards the original bytes.

export type StartupPacket =
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number }
  | { readonly kind: 'startup'; readonly minor: number; readonly parameters: ReadonlyMap<string, string> };

export function decodeStartup(frame: Frame): StartupPacket {
  const body = new BodyReader(frame, 'startup');
  const code = body.int32();
  switch (code) {
    case StartupCode.SslRequest:
      return { kind: 'ssl' };
    case StartupCode.GssEncRequest:
      return { kind: 'gssenc' };
    case StartupCode.CancelRequest:
      return { kind: 'cancel', processId: body.int32(), secretKey: body.int32() };
  }
  const major = code >>> 16;
  if (major !== 3) throw new ProtocolError(`unsupported frontend protocol ${major}.${code & 0xffff}: Sluice speaks 3.0`, '0A000');
  const parameters = new Map<string, string>();
  for (;;) {
    const name = body.cstring();
    if (name === '') break;
    // A repeated parameter: the last one counts, as in PostgreSQL (pg-protocol's own startup
    // message repeats client_encoding when a driver sets it).
    parameters.set(name, body.cstring());
  }
  if (body.remaining !== 0) throw new ProtocolError('malformed startup message: bytes after the parameter list');
  return { kind: 'startup', minor: code & 0xffff, parameters };
}

export function decodePassword(frame: Frame): string {
  return new BodyReader(frame, 'password').cstring();
}

export function decodeQuery(frame: Frame): string {
  return new BodyReader(frame, 'Query').cstring();
}

export interface ParseMessage {
  readonly statement: string;
  readonly text: string;
}

export function decodeParse(frame: Frame): ParseMessage {
  const body = new BodyReader(frame, 'Parse');
  return { statement: body.cstring(), text: body.cstring() };
}

/** A bound parameter: text as sent; binary values stay bytes (the recorder decides how to show them). */
export type BoundValue = string | Buffer | null;

export interface BindMessage {
  readonly portal: string;
  readonly statement: string;
  readonly values: readonly BoundValue[];
  /** Result-format codes: none (all text), one (for every column) or one per column. */
  readonly resultFormats: readonly number[];
}

export function decodeBind(frame: Frame): BindMessage {
  const body = new BodyReader(frame, 'Bind');
  const portal = body.cstring();
  const statement = body.cstring();
  // Counts are unsigned 16-bit, as PostgreSQL reads them: up to 65,535 parameters.
  const formatCount = body.uint16();
  const formats: number[] = [];
  for (let i = 0; i < formatCount; i++) formats.push(body.int16());
  const valueCount = body.uint16();
  if (formatCount > 1 && formatCount !== valueCount) {
    throw new ProtocolError(`malformed Bind message: ${formatCount} parameter formats for ${valueCount} parameters`);
  }
  const values: BoundValue[] = [];
  for (let i = 0; i < valueCount; i++) {
    const length = body.int32();
    if (length === -1) {
      values.push(null);
      continue;
    }
    if (length < 0) throw new ProtocolError(`malformed Bind message: parameter ${i + 1} has length ${length}`);
    const bytes = body.bytes(length);
    const format = formatCount === 0 ? 0 : formatCount === 1 ? formats[0]! : formats[i]!;
    values.push(format === 0 ? bytes.toString('utf8') : Buffer.from(bytes));
  }
  const resultFormats: number[] = [];
  const resultFormatCount = body.uint16();
  for (let i = 0; i < resultFormatCount; i++) {
    const code = body.int16();
    if (code !== 0 && code !== 1) throw new ProtocolError(`malformed Bind message: result format ${code} (0 text or 1 binary)`);
    resultFormats.push(code);
  }
  if (body.remaining !== 0) throw new ProtocolError('malformed Bind message: bytes after the result formats');
  return { portal, statement, values, resultFormats };
}

export function decodeExecute(frame: Frame): { readonly portal: string; readonly maxRows: number } {
  const body = new BodyReader(frame, 'Execute');
  return { portal: body.cstring(), maxRows: body.int32() };
}

/** Close and Describe share a shape: 'S' (statement) or 'P' (portal), then a name. */
export function decodeTarget(frame: Frame): { readonly target: 'statement' | 'portal'; readonly name: string } {
  const body = new BodyReader(frame, describeCode(frame.code));
  const kind = body.bytes(1)[0];
  if (kind !== 0x53 && kind !== 0x50) throw new ProtocolError(`malformed ${describeCode(frame.code)} message: target must be 'S' or 'P'`);
  return { target: kind === 0x53 ? 'statement' : 'portal', name: body.cstring() };
}
