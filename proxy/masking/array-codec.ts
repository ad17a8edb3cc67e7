import { ProtocolError } from '../postgres/protocol-error.js';

// PostgreSQL arrays in both wire formats, so masking can reach each element and put the array
// back together as PostgreSQL itself would have written it (array_out / array_send). Input comes
// from the upstream: anything that array_out or array_send could not have produced is a
// ProtocolError, found with bounds checks and loops that always advance.

/** PostgreSQL's MAXDIM: no array has more dimensions. */
export const MAX_DIMENSIONS = 6;

/** One level of a text array: elements (NULL as null) or, in a multi-dimensional array, the next level down. */
export type TextArrayItem = string | null | TextArrayItem[];

export interface TextArray {
  /** `[lower:upper]...=` when a lower bound is not 1 (as array_out writes it); otherwise empty. */
  readonly dimensions: string;
  readonly items: TextArrayItem[];
}

/** What a mapper returns for one element: undefined to keep it, null for NULL, or the new value. */
export type ElementResult<T> = T | null | undefined;

function malformedText(reason: string, at: number): ProtocolError {
  return new ProtocolError(`the server sent a malformed array value (text format): ${reason} at character ${at + 1}`);
}

/** array_isspace: the only characters PostgreSQL treats as blanks in an array literal. */
function isBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

const DIMENSIONS = /(?:\[[+-]?\d+(?::[+-]?\d+)?\])+=/y;
const BOUNDS = /\[([+-]?\d+)(?::([+-]?\d+))?\]/g;

/** Parses an array literal as array_out writes it (and the blanks array_in tolerates). */
export function parseTextArray(literal: string): TextArray {
  let at = 0;
  while (at < literal.length && isBlank(literal.charCodeAt(at))) at++;
  let dimensions = '';
  if (literal.charCodeAt(at) === 0x5b /* [ */) {
    DIMENSIONS.lastIndex = at;
    const match = DIMENSIONS.exec(literal);
    if (!match) throw malformedText('invalid dimension decoration', at);
    dimensions = match[0];
    at += dimensions.length;
  }
  const parser = new TextArrayParser(literal, at);
  const items = parser.level(1);
  parser.skipBlanks();
  if (parser.at !== literal.length) throw malformedText('text after the closing brace', parser.at);
  // Only empty sub-arrays ({{},{}}) make an empty array, as array_in reads it.
  return { dimensions: dimensions === '' ? '' : canonicalDimensions(dimensions, parser), items: parser.leafDepth === undefined ? [] : items };
}

/**
 * The decoration as array_out writes it (none when every lower bound is 1), after checking it
 * describes the braces that follow, as array_in does.
 */
function canonicalDimensions(dimensions: string, parser: TextArrayParser): string {
  const bounds = [...dimensions.matchAll(BOUNDS)].map((bound): [number, number] => (bound[2] === undefined ? [1, Number(bound[1])] : [Number(bound[1]), Number(bound[2])]));
  const sizes = parser.leafDepth === undefined ? [] : parser.sizes.slice(0, parser.leafDepth);
  if (bounds.length !== sizes.length || bounds.some(([lower, upper], dim) => upper - lower + 1 !== sizes[dim])) {
    throw malformedText(`dimensions ${dimensions.slice(0, -1)} do not match the array's contents`, 0);
  }
  return bounds.every(([lower]) => lower === 1) ? '' : `${bounds.map(([lower, upper]) => `[${lower}:${upper}]`).join('')}=`;
}

class TextArrayParser {
  /** Items per level at each depth (index depth - 1), set by the first level closed there. */
  readonly sizes: number[] = [];
  /** The depth of the levels that hold elements; undefined until one is closed. */
  leafDepth: number | undefined;

  constructor(
    readonly text: string,
    public at: number,
  ) {}

  skipBlanks(): void {
    while (this.at < this.text.length && isBlank(this.text.charCodeAt(this.at))) this.at++;
  }

  /** The items of the `{...}` at the cursor; `depth` counts this level. */
  level(depth: number): TextArrayItem[] {
    const start = this.at;
    if (this.text.charCodeAt(this.at) !== 0x7b /* { */) throw malformedText('expected "{"', this.at);
    if (depth > MAX_DIMENSIONS) throw malformedText(`more than ${MAX_DIMENSIONS} dimensions`, this.at);
    this.at++;
    const items: TextArrayItem[] = [];
    this.skipBlanks();
    if (this.text.charCodeAt(this.at) === 0x7d /* } */) {
      this.at++;
      this.closed(depth, items, undefined, start);
      return items;
    }
    let nested: boolean | undefined;
    for (;;) {
      this.skipBlanks();
      const code = this.text.charCodeAt(this.at);
      const isLevel = code === 0x7b;
      if (nested !== undefined && nested !== isLevel) throw malformedText('elements and sub-arrays mixed in one dimension', this.at);
      nested = isLevel;
      items.push(isLevel ? this.level(depth + 1) : code === 0x22 /* " */ ? this.quoted() : this.unquoted());
      this.skipBlanks();
      const next = this.text.charCodeAt(this.at++);
      if (next === 0x7d /* } */) break;
      if (next !== 0x2c /* , */) throw malformedText(Number.isNaN(next) ? 'unexpected end' : 'expected "," or "}"', this.at - 1);
    }
    this.closed(depth, items, nested, start);
    return items;
  }

  /** Multidimensional arrays are rectangular: one depth for elements, one length per depth. */
  closed(depth: number, items: readonly TextArrayItem[], nested: boolean | undefined, start: number): void {
    if (nested === false) {
      if (this.leafDepth !== undefined && this.leafDepth !== depth) throw malformedText('sub-arrays of different depths', start);
      this.leafDepth = depth;
    } else if (nested === true && this.leafDepth !== undefined && depth >= this.leafDepth) {
      throw malformedText('sub-arrays of different depths', start);
    }
    const size = this.sizes[depth - 1];
    if (size === undefined) this.sizes[depth - 1] = items.length;
    else if (size !== items.length) throw malformedText('sub-arrays of different lengths', start);
  }

  quoted(): string {
    const text = this.text;
    let value = '';
    let from = ++this.at;
    for (let at = from; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code === 0x5c /* \ */) {
        if (at + 1 >= text.length) break;
        value += text.slice(from, at);
        from = ++at; // the escaped character is kept, from the next slice on
      } else if (code === 0x22) {
        this.at = at + 1;
        return value + text.slice(from, at);
      }
    }
    throw malformedText('unterminated quoted element', this.at - 1);
  }

  /** An element up to `,` or `}`: backslash escapes, trailing blanks dropped, bare NULL is null. */
  unquoted(): string | null {
    const text = this.text;
    const start = this.at;
    let value = '';
    let from = start;
    // End of the last character that is not a blank or is escaped (an escaped blank is kept).
    let kept = start;
    let escaped = false;
    let at = start;
    for (; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code === 0x2c || code === 0x7d) break;
      if (code === 0x7b || code === 0x22) throw malformedText(`unexpected "${text[at]}" in an unquoted element`, at);
      if (code === 0x5c) {
        if (at + 1 >= text.length) break;
        value += text.slice(from, at);
        from = ++at;
        kept = at + 1;
        escaped = true;
      } else if (!isBlank(code)) {
        kept = at + 1;
      }
    }
    if (at >= text.length) throw malformedText('unexpected end', at);
    if (at === start) throw malformedText(`unexpected "${text[at]}"`, at);
    this.at = at;
    value += text.slice(from, kept);
    if (!escaped && value.length === 4 && isNullKeyword(value)) return null;
    return value;
  }
}

/** pg_strcasecmp(value, "NULL") === 0: ASCII case-insensitive, as PostgreSQL compares it. */
function isNullKeyword(value: string): boolean {
  return (value.charCodeAt(0) | 0x20) === 0x6e && (value.charCodeAt(1) | 0x20) === 0x75 && (value.charCodeAt(2) | 0x20) === 0x6c && (value.charCodeAt(3) | 0x20) === 0x6c;
}

const NEEDS_QUOTES = /[{}",\\ \t\n\r\v\f]/;
const ESCAPED = /["\\]/g;

/** An element as array_out writes it: quoted when empty, NULL-like, or holding `{}",\` or blanks. */
export function quoteElement(value: string): string {
  if (value === '' || (value.length === 4 && isNullKeyword(value))) return `"${value}"`;
  if (!NEEDS_QUOTES.test(value)) return value;
  return `"${value.replace(ESCAPED, '\\$&')}"`;
}

export function serializeTextArray(array: TextArray): string {
  return array.dimensions + serializeLevel(array.items);
}

function serializeLevel(items: readonly TextArrayItem[]): string {
  let out = '{';
  for (let index = 0; index < items.length; index++) {
    if (index > 0) out += ',';
    const item = items[index]!;
    out += item === null ? 'NULL' : typeof item === 'string' ? quoteElement(item) : serializeLevel(item);
  }
  return out + '}';
}

/**
 * Applies `map` to each non-NULL element of an array literal. Returns the new literal, or
 * undefined when `map` changed nothing.
 */
export function mapTextArray(literal: string, map: (element: string) => ElementResult<string>): string | undefined {
  const array = parseTextArray(literal);
  return mapLevel(array.items, map) ? serializeTextArray(array) : undefined;
}

/** Maps `items` in place; true when any element changed. */
function mapLevel(items: TextArrayItem[], map: (element: string) => ElementResult<string>): boolean {
  let changed = false;
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    if (item === null) continue;
    if (typeof item !== 'string') {
      if (mapLevel(item, map)) changed = true;
      continue;
    }
    const mapped = map(item);
    if (mapped === undefined) continue;
    items[index] = mapped;
    changed = true;
  }
  return changed;
}

/** An array in array_send's layout. Elements are views into the input, not copies. */
export interface BinaryArray {
  /** The element type as the server wrote it (an unsigned OID). */
  readonly elementOid: number;
  readonly dimensions: readonly { readonly size: number; readonly lowerBound: number }[];
  /** Row-major, as sent. */
  readonly elements: (Buffer | null)[];
}

function malformedBinary(reason: string): ProtocolError {
  return new ProtocolError(`the server sent a malformed array value (binary format): ${reason}`);
}

export function parseBinaryArray(bytes: Buffer): BinaryArray {
  if (bytes.length < 12) throw malformedBinary(`${bytes.length} bytes are shorter than its header`);
  const ndim = bytes.readInt32BE(0);
  const flags = bytes.readInt32BE(4);
  const elementOid = bytes.readUInt32BE(8);
  if (ndim < 0 || ndim > MAX_DIMENSIONS) throw malformedBinary(`${ndim} dimensions (0..${MAX_DIMENSIONS} allowed)`);
  if (flags !== 0 && flags !== 1) throw malformedBinary(`flags ${flags} (0 or 1 expected)`);
  let at = 12 + 8 * ndim;
  if (bytes.length < at) throw malformedBinary(`${bytes.length} bytes are shorter than the dimensions of ${ndim}`);
  const dimensions: { size: number; lowerBound: number }[] = [];
  let count = ndim === 0 ? 0 : 1;
  for (let dim = 0; dim < ndim; dim++) {
    const size = bytes.readInt32BE(12 + 8 * dim);
    if (size < 0) throw malformedBinary(`dimension ${dim + 1} has size ${size}`);
    dimensions.push({ size, lowerBound: bytes.readInt32BE(16 + 8 * dim) });
    count *= size;
  }
  // Every element takes at least its 4-byte length: a count beyond that is a lie, not a long loop.
  if (count > (bytes.length - at) / 4) throw malformedBinary(`${count} elements cannot fit in ${bytes.length - at} bytes`);
  const elements: (Buffer | null)[] = new Array<Buffer | null>(count);
  for (let index = 0; index < count; index++) {
    if (bytes.length - at < 4) throw malformedBinary(`element ${index + 1} of ${count} is cut short`);
    const length = bytes.readInt32BE(at);
    at += 4;
    if (length === -1) {
      elements[index] = null;
      continue;
    }
    if (length < 0 || length > bytes.length - at) throw malformedBinary(`element ${index + 1} of ${count} has length ${length} with ${bytes.length - at} bytes left`);
    elements[index] = bytes.subarray(at, at + length);
    at += length;
  }
  if (at !== bytes.length) throw malformedBinary(`${bytes.length - at} bytes after its last element`);
  return { elementOid, dimensions, elements };
}

export function serializeBinaryArray(array: BinaryArray): Buffer {
  const header = 12 + 8 * array.dimensions.length;
  let size = header;
  let hasNull = false;
  for (const element of array.elements) {
    size += 4 + (element === null ? 0 : element.length);
    if (element === null) hasNull = true;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(array.dimensions.length, 0);
  out.writeInt32BE(hasNull ? 1 : 0, 4);
  out.writeUInt32BE(array.elementOid, 8);
  array.dimensions.forEach(({ size: length, lowerBound }, dim) => {
    out.writeInt32BE(length, 12 + 8 * dim);
    out.writeInt32BE(lowerBound, 16 + 8 * dim);
  });
  let at = header;
  for (const element of array.elements) {
    if (element === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(element.length, at);
      at += 4 + element.copy(out, at + 4);
    }
  }
  return out;
}

/**
 * Applies `map` to each non-NULL element of a binary array. Returns the new array (lengths and
 * the has-NULL flag rewritten), or undefined when `map` changed nothing.
 */
export function mapBinaryArray(bytes: Buffer, map: (element: Buffer) => ElementResult<Buffer>): Buffer | undefined {
  const array = parseBinaryArray(bytes);
  let changed = false;
  const { elements } = array;
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index]!;
    if (element === null) continue;
    const mapped = map(element);
    if (mapped === undefined) continue;
    elements[index] = mapped;
    changed = true;
  }
  return changed ? serializeBinaryArray(array) : undefined;
}
