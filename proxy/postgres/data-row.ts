import { maskCellAt } from '../masking/cell-masker.js';
import type { CellAction, MaskingHits } from '../masking/masking-types.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// DataRow: int16 column count, then per column an int32 length (-1 for NULL) and the value's
// bytes. Masking runs once per row of results that can hold millions: a row nothing changes
// is read in place and forwarded as its original bytes, with no allocation beyond what the
// detectors need to look at the text.

function malformed(reason: string): ProtocolError {
  return new ProtocolError(`malformed DataRow message from the server: ${reason}`);
}

/** The column count, after checking the frame is a DataRow long enough to hold it. */
function columnCount(frame: Frame): number {
  if (frame.code !== BackendCode.DataRow) throw new ProtocolError(`expected a DataRow message, got ${describeCode(frame.code)}`);
  if (frame.end - frame.start < 7) throw malformed('it is shorter than its column count');
  return frame.buffer.readInt16BE(frame.start + 5);
}

/** The length of the cell whose length field is at `at` (-1 for NULL), checked against the frame. */
function cellLength(frame: Frame, at: number, column: number): number {
  if (frame.end - at < 4) throw malformed(`column ${column + 1} is cut short`);
  const length = frame.buffer.readInt32BE(at);
  if (length < -1 || length > frame.end - at - 4) throw malformed(`column ${column + 1} has length ${length} with ${frame.end - at - 4} bytes left`);
  return length;
}

/**
 * Masks a DataRow's cells as `actions` says, one action (or none) per column. Returns the new
 * message, or undefined when nothing changed (forward the original bytes). A column count that
 * differs from `actions` means the row does not match the RowDescription the actions came from:
 * a ProtocolError, so nothing unmasked slips through.
 */
export function maskDataRow(frame: Frame, actions: readonly (CellAction | undefined)[], hits: MaskingHits): Buffer | undefined {
  const count = columnCount(frame);
  if (count !== actions.length) throw new ProtocolError(`the server sent a row of ${count} columns where its row description announced ${actions.length}`);
  const buffer = frame.buffer;
  // Allocated on the first change only: undefined keeps a cell, null makes it NULL.
  let masked: (Buffer | null | undefined)[] | undefined;
  let at = frame.start + 7;
  for (let column = 0; column < count; column++) {
    const length = cellLength(frame, at, column);
    at += 4;
    if (length < 0) continue;
    const action = actions[column];
    if (action !== undefined) {
      const cell = maskCellAt(buffer, at, at + length, action, hits);
      if (cell !== undefined) (masked ??= new Array<Buffer | null | undefined>(count))[column] = cell;
    }
    at += length;
  }
  if (at !== frame.end) throw malformed(`${frame.end - at} bytes after its ${count} columns`);
  return masked === undefined ? undefined : rebuild(frame, count, masked);
}

/** A DataRow of the original cells with `masked` ones put in their place. */
function rebuild(frame: Frame, count: number, masked: readonly (Buffer | null | undefined)[]): Buffer {
  const buffer = frame.buffer;
  let size = frame.end - frame.start;
  for (let column = 0, at = frame.start + 7; column < count; column++) {
    const length = buffer.readInt32BE(at);
    at += 4 + Math.max(length, 0);
    const cell = masked[column];
    if (cell !== undefined) size += (cell === null ? 0 : cell.length) - Math.max(length, 0);
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = BackendCode.DataRow;
  out.writeInt32BE(size - 1, 1);
  out.writeInt16BE(count, 5);
  let to = 7;
  for (let column = 0, at = frame.start + 7; column < count; column++) {
    const length = buffer.readInt32BE(at);
    const next = at + 4 + Math.max(length, 0);
    const cell = masked[column];
    if (cell === undefined) {
      to += buffer.copy(out, to, at, next);
    } else if (cell === null) {
      to = out.writeInt32BE(-1, to);
    } else {
      to = out.writeInt32BE(cell.length, to);
      to += cell.copy(out, to);
    }
    at = next;
  }
  return out;
}

/**
 * A DataRow's cells as views into the frame (null for NULL), checked like maskDataRow: for a
 * sample of what a client was sent. The views share the frame's memory; copy to keep them.
 */
export function dataRowCells(frame: Frame): (Buffer | null)[] {
  const count = columnCount(frame);
  if (count < 0) throw malformed(`column count ${count}`);
  const cells: (Buffer | null)[] = [];
  let at = frame.start + 7;
  for (let column = 0; column < count; column++) {
    const length = cellLength(frame, at, column);
    at += 4;
    cells.push(length < 0 ? null : frame.buffer.subarray(at, at + length));
    at += Math.max(length, 0);
  }
  if (at !== frame.end) throw malformed(`${frame.end - at} bytes after its ${count} columns`);
  return cells;
}
