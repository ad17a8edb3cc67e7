import { BodyReader } from './body-reader.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// What masking needs to know about a result's columns: where each comes from (table OID and
// attribute number), its type, and the format its values travel in. A RowDescription answering
// Describe of a statement always says text, because formats are only chosen at Bind; so the
// Bind's result-format codes are read here too, the other half of the answer.

export interface ResultField {
  readonly name: string;
  /** The source table's OID (unsigned), 0 when the column is not a plain table column. */
  readonly tableOid: number;
  /** The source column's attribute number, 0 when there is none. */
  readonly attnum: number;
  /** The data type's OID (unsigned). */
  readonly typeOid: number;
  readonly typeModifier: number;
  /** 0 text, 1 binary. */
  readonly format: 0 | 1;
}

function format(code: number, what: string, sqlstate?: string): 0 | 1 {
  if (code === 0 || code === 1) return code;
  throw new ProtocolError(`unsupported format code ${code} in ${what} (0 text and 1 binary exist)`, sqlstate);
}

/** What PostgreSQL answers a Bind asking for an unknown result format (invalid_parameter_value). */
const BAD_BIND_FORMAT = '22023';

export function decodeRowDescription(frame: Frame): ResultField[] {
  if (frame.code !== BackendCode.RowDescription) throw new ProtocolError(`expected a RowDescription message, got ${describeCode(frame.code)}`);
  const body = new BodyReader(frame, 'RowDescription');
  const count = body.int16();
  if (count < 0) throw body.malformed(`field count ${count}`);
  const fields: ResultField[] = [];
  for (let index = 0; index < count; index++) {
    const name = body.cstring();
    const tableOid = body.int32() >>> 0;
    const attnum = body.int16();
    const typeOid = body.int32() >>> 0;
    body.int16(); // typlen: masking goes by type OID
    const typeModifier = body.int32();
    fields.push({ name, tableOid, attnum, typeOid, typeModifier, format: format(body.int16(), 'a RowDescription from the server') });
  }
  if (body.remaining !== 0) throw body.malformed(`${body.remaining} bytes after its ${count} fields`);
  return fields;
}

/**
 * The formats a portal's rows really travel in: `fields` as a Describe reported them, with the
 * result-format codes of the Bind that created the portal (none: all text; one: all columns;
 * otherwise one per column, as PostgreSQL requires).
 */
export function resultFormats(fields: readonly ResultField[], bindFormats: readonly number[]): (0 | 1)[] {
  if (bindFormats.length === 0) return fields.map(() => 0);
  if (bindFormats.length === 1) {
    const only = format(bindFormats[0]!, 'a Bind message', BAD_BIND_FORMAT);
    return fields.map(() => only);
  }
  if (bindFormats.length !== fields.length) {
    throw new ProtocolError(`a Bind message asks for ${bindFormats.length} result formats for a query with ${fields.length} columns: send none, one, or one per column`);
  }
  return bindFormats.map((code) => format(code, 'a Bind message', BAD_BIND_FORMAT));
}
