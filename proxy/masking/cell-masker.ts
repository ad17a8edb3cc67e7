import { isAscii } from 'node:buffer';
import { ProtocolError } from '../postgres/protocol-error.js';
import { mapBinaryArray, mapTextArray } from './array-codec.js';
import type { CellAction, ColumnAction, ContentMasker, MaskingHits, ValueShape } from './masking-types.js';

// Masks one result cell, as the server encoded it. Text format is UTF-8 text for every shape;
// binary is the same text for text-like types and json, a version byte then the text for jsonb,
// and array_send's layout for arrays. A cell that nothing changes is never copied: the common
// case costs one string decode and the detectors' scan.

/** Above this many bytes, checking for pure ASCII and decoding as latin1 beats the UTF-8 decoder. */
const ASCII_CHECK_BYTES = 2048;

/** The only jsonb binary version PostgreSQL has written (jsonb_send). */
const JSONB_VERSION = 1;

/**
 * Masks `bytes` (one non-NULL cell) as `action` says: undefined when nothing changed, null for
 * SQL NULL, else the new bytes. A column rule wins over content detectors and counts one hit per
 * cell; detectors count their own hits. Throws ProtocolError when the bytes cannot be what the
 * cell's type says.
 */
export function maskCell(bytes: Buffer, action: CellAction, hits: MaskingHits): Buffer | null | undefined {
  return maskCellAt(bytes, 0, bytes.length, action, hits);
}

/** maskCell on `buffer[start, end)`, so a DataRow's cells are masked without a view per cell. */
export function maskCellAt(buffer: Buffer, start: number, end: number, action: CellAction, hits: MaskingHits): Buffer | null | undefined {
  const { column, content, shape } = action;
  if (column !== undefined) {
    hits.set(column.rule, (hits.get(column.rule) ?? 0) + 1);
    if (column.nulls) return null;
    return action.format === 0 || shape.kind === 'text' || shape.kind === 'json'
      ? encode(columnText(shape, decodeText(buffer, start, end), column), buffer, start, end)
      : columnBinary(shape, buffer.subarray(start, end), column);
  }
  if (content === undefined || content.empty) return undefined;
  switch (shape.kind) {
    case 'text':
    case 'json':
      return encode(content.mask(decodeText(buffer, start, end), hits), buffer, start, end);
    case 'other':
      return undefined;
    case 'jsonb':
    case 'array':
      return action.format === 0
        ? encode(contentText(shape, decodeText(buffer, start, end), content, hits), buffer, start, end)
        : contentBinary(shape, buffer.subarray(start, end), content, hits);
  }
}

function decodeText(buffer: Buffer, start: number, end: number): string {
  if (end - start >= ASCII_CHECK_BYTES && isAscii(buffer.subarray(start, end))) return buffer.toString('latin1', start, end);
  return buffer.toString('utf8', start, end);
}

/** The cell for a masked text: undefined stays undefined, and so does a text equal to the original bytes. */
function encode(text: string | null | undefined, buffer: Buffer, start: number, end: number): Buffer | null | undefined {
  if (text === undefined || text === null) return text;
  const out = Buffer.from(text, 'utf8');
  return out.length === end - start && out.equals(buffer.subarray(start, end)) ? undefined : out;
}

/** A column strategy's output as a JSON value: a JSON string literal. */
function jsonLiteral(value: string | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** A column rule over a value in text format (a whole cell, or one element of a text array). */
function columnText(shape: ValueShape, text: string, column: ColumnAction): string | null | undefined {
  switch (shape.kind) {
    case 'text':
      return column.apply(text);
    case 'json':
    case 'jsonb':
      return jsonLiteral(column.apply(text));
    case 'array':
      return mapTextArray(text, (element) => columnText(shape.element, element, column));
    case 'other':
      return null;
  }
}

/** A column rule over a value in binary format (a whole cell, or one element of a binary array). */
function columnBinary(shape: ValueShape, bytes: Buffer, column: ColumnAction): Buffer | null | undefined {
  switch (shape.kind) {
    case 'text':
    case 'json':
      return encode(columnText(shape, bytes.toString('utf8'), column), bytes, 0, bytes.length);
    case 'jsonb': {
      const masked = jsonLiteral(column.apply(jsonbText(bytes)));
      return masked === null ? null : jsonb(masked);
    }
    case 'array':
      return mapBinaryArray(bytes, (element) => columnBinary(shape.element, element, column));
    case 'other':
      return null;
  }
}

/** Content detectors over a value in text format. */
function contentText(shape: ValueShape, text: string, content: ContentMasker, hits: MaskingHits): string | null | undefined {
  switch (shape.kind) {
    case 'text':
    case 'json':
    case 'jsonb':
      return content.mask(text, hits);
    case 'array': {
      // An element a null-strategy rule hit makes the whole array NULL: simpler than a NULL
      // element, and it never leaves the element's neighbours to reveal what it held.
      let nulled = false;
      const masked = mapTextArray(text, (element) => {
        if (nulled) return undefined;
        const result = contentText(shape.element, element, content, hits);
        if (result === null) nulled = true;
        return result;
      });
      return nulled ? null : masked;
    }
    case 'other':
      return undefined;
  }
}

/** Content detectors over a value in binary format. */
function contentBinary(shape: ValueShape, bytes: Buffer, content: ContentMasker, hits: MaskingHits): Buffer | null | undefined {
  switch (shape.kind) {
    case 'text':
    case 'json':
      return encode(content.mask(decodeText(bytes, 0, bytes.length), hits), bytes, 0, bytes.length);
    case 'jsonb': {
      const masked = content.mask(jsonbText(bytes), hits);
      return masked === undefined || masked === null ? masked : jsonb(masked);
    }
    case 'array': {
      let nulled = false;
      const masked = mapBinaryArray(bytes, (element) => {
        if (nulled) return undefined;
        const result = contentBinary(shape.element, element, content, hits);
        if (result === null) nulled = true;
        return result;
      });
      return nulled ? null : masked;
    }
    case 'other':
      return undefined;
  }
}

/** The JSON text of a binary jsonb value. */
function jsonbText(bytes: Buffer): string {
  if (bytes.length === 0 || bytes[0] !== JSONB_VERSION) {
    throw new ProtocolError(`the server sent a jsonb value in binary format with version ${bytes.length === 0 ? 'missing' : bytes[0]}; Sluice reads version ${JSONB_VERSION} only`);
  }
  return decodeText(bytes, 1, bytes.length);
}

function jsonb(text: string): Buffer {
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
  out[0] = JSONB_VERSION;
  out.write(text, 1, 'utf8');
  return out;
}
