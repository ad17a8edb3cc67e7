import type { JsonPathAction, JsonPathRules } from './json-path-rules.js';
import { EMPTY, type PathStates } from './json-path.js';
import { JsonReplacements } from './json-replacements.js';
import type { ContentMasker } from './masking-types.js';
import { OutputBuilder } from './output-builder.js';

// A streaming JSON rewriter: bytes in, bytes out, never holding more of the document than the
// token it is in (a 100 MB array streams through in the chunks it arrives in). It tracks where
// each value sits (json-path.ts states, only while some path can still match below) and
// replaces:
//   - a value a `json_paths` rule covers (a scalar, or every scalar inside a covered object or
//     array) by the rule's strategy: a string, or null;
//   - every other string, member names included, by the content detectors' verdict.
// Bytes it does not change go out as they came, as views into the chunks received. Input that
// is not JSON throws JsonMaskError: the caller fails closed (the response is cut, not passed).

export class JsonMaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonMaskError';
  }
}

export interface JsonMaskerOptions {
  readonly paths?: JsonPathRules;
  /** Content detectors over every string; an empty masker skips them. */
  readonly content: ContentMasker;
  /**
   * Applied to strings written with escapes (`\u002d`, `\/`), decoded, after masking: the
   * replacement, or undefined to keep it. Strings without escapes are left to a byte scan.
   */
  readonly scrubEscaped?: (text: string) => string | undefined;
  /** Masked values per rule name (added to). */
  readonly hits: Map<string, number>;
  /** The most bytes of one string or number held to decide on it (default 8 MiB). */
  readonly maxToken?: number;
  /** The deepest nesting accepted (default 1000). */
  readonly maxDepth?: number;
}

const enum Expect {
  /** A value (top level, after `:`, after `,` in an array). */
  Value,
  /** A value or `]` (after `[`). */
  ValueOrClose,
  /** A member name or `}` (after `{`). */
  KeyOrClose,
  /** A member name (after `,` in an object). */
  Key,
  Colon,
  /** `,` or the container's close. */
  CommaOrClose,
}

const enum Token {
  None,
  String,
  Number,
  Literal,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OBJECT = 0;
const ARRAY = 1;
const EMPTY_BUFFER = Buffer.alloc(0);
const BOM: readonly number[] = [0xef, 0xbb, 0xbf];
const LITERALS: readonly Buffer[] = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];
const DEFAULT_MAX_TOKEN = 8 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 1000;

export class JsonStreamMasker {
  readonly #paths: JsonPathRules | undefined;
  readonly #replace: JsonReplacements;
  readonly #maxToken: number;
  readonly #maxDepth: number;
  /** Strings are decoded and looked at even without a path rule (content detectors apply). */
  readonly #inspectStrings: boolean;
  /** Strings written with escapes are decoded for the credential scrub. */
  readonly #scrubsEscaped: boolean;

  // The container stack, one entry per open object or array.
  readonly #kinds: number[] = [];
  readonly #indexes: number[] = [];
  readonly #states: PathStates[] = [];
  readonly #actions: (JsonPathAction | undefined)[] = [];

  #expect = Expect.Value;
  #started = false;
  #bomAt = 0;
  #token = Token.None;
  /** The token being read is a member name. */
  #isKey = false;
  /** The token being read is held (its bytes kept until it ends) because it may be replaced. */
  #holding = false;
  #hasEscape = false;
  /** The previous chunk ended right after a backslash inside a string. */
  #pendingEscape = false;
  #literal: Buffer = LITERALS[2]!;
  #literalAt = 0;
  /** Bytes of the held token from earlier chunks. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Path states and covering rule of the value being read (a scalar's, or the container about to open). */
  #valueStates: PathStates = EMPTY;
  #valueAction: JsonPathAction | undefined;
  /** The last member name read, when paths need it. */
  #key = '';
  /** The chunk being read, where its bytes are copied from up to, and the rewritten chunk (once something in it changed). */
  #chunk: Buffer = EMPTY_BUFFER;
  #copyFrom = 0;
  readonly #out = new OutputBuilder();

  constructor(options: JsonMaskerOptions) {
    this.#paths = options.paths;
    this.#replace = new JsonReplacements(options.content, options.hits, options.scrubEscaped);
    this.#maxToken = options.maxToken ?? DEFAULT_MAX_TOKEN;
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#inspectStrings = this.#replace.inspectsStrings;
    this.#scrubsEscaped = options.scrubEscaped !== undefined;
  }

  /** Reads a chunk; returns what may be sent so far (the chunk itself, or a view of it, when nothing in it changed). */
  write(chunk: Buffer): Buffer[] {
    const length = chunk.length;
    this.#chunk = chunk;
    this.#copyFrom = 0;
    this.#out.reset();
    const pieces: Buffer[] = [];
    let tokenStart = 0;
    let nextBackslash = -2;
    let i = 0;
    // A UTF-8 byte order mark before the document (it may arrive a byte at a time).
    while (!this.#started && i < length) {
      if (chunk[i] === BOM[this.#bomAt]) {
        i++;
        if (++this.#bomAt === BOM.length) this.#started = true;
      } else if (this.#bomAt > 0) {
        throw this.#invalid(chunk[i]!);
      } else {
        this.#started = true;
      }
    }

    while (i < length) {
      switch (this.#token) {
        case Token.String: {
          // Find the closing quote, stepping over escapes.
          if (this.#pendingEscape) {
            this.#pendingEscape = false;
            i += 1;
            continue;
          }
          const quote = chunk.indexOf(QUOTE, i);
          if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
          if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
            this.#hasEscape = true;
            if (nextBackslash + 1 < length) {
              i = nextBackslash + 2;
            } else {
              this.#pendingEscape = true;
              i = length;
            }
            continue;
          }
          if (quote === -1) {
            i = length;
            continue;
          }
          i = quote + 1;
          // A token that began in an earlier chunk has tokenStart 0 here and its first bytes held.
          this.#settle(this.#endString(chunk, tokenStart, i), tokenStart, i, pieces);
          continue;
        }
        case Token.Number: {
          const c = chunk[i]!;
          if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) {
            i++;
            continue;
          }
          this.#settle(this.#endScalar(chunk, tokenStart, i), tokenStart, i, pieces);
          continue;
        }
        case Token.Literal: {
          if (chunk[i] !== this.#literal[this.#literalAt]) throw this.#invalid(chunk[i]!);
          i++;
          if (++this.#literalAt === this.#literal.length) this.#settle(this.#endScalar(chunk, tokenStart, i), tokenStart, i, pieces);
          continue;
        }
        case Token.None:
          break;
      }

      const c = chunk[i]!;
      // Whitespace between tokens.
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        i++;
        continue;
      }
      switch (this.#expect) {
        case Expect.Key:
        case Expect.KeyOrClose:
          if (c === QUOTE) {
            tokenStart = i;
            this.#startString(true);
            i++;
          } else if (c === 0x7d && this.#expect === Expect.KeyOrClose) {
            this.#close(OBJECT);
            i++;
          } else {
            throw this.#invalid(c);
          }
          continue;
        case Expect.Colon:
          if (c !== 0x3a) throw this.#invalid(c);
          this.#expect = Expect.Value;
          i++;
          continue;
        case Expect.CommaOrClose:
          if (c === 0x2c) {
            this.#expect = this.#kinds[this.#kinds.length - 1] === OBJECT ? Expect.Key : Expect.Value;
          } else if (c === 0x7d || c === 0x5d) {
            this.#close(c === 0x7d ? OBJECT : ARRAY);
          } else {
            throw this.#invalid(c);
          }
          i++;
          continue;
        case Expect.ValueOrClose:
          if (c === 0x5d) {
            this.#close(ARRAY);
            i++;
            continue;
          }
          break;
        case Expect.Value:
          break;
      }
      // A value starts here.
      this.#enterValue();
      tokenStart = i;
      if (c === QUOTE) {
        this.#startString(false);
        i++;
      } else if (c === 0x7b || c === 0x5b) {
        this.#open(c === 0x7b ? OBJECT : ARRAY);
        i++;
      } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
        this.#token = Token.Number;
        // Detectors read numbers too: a card or phone number is often sent as one.
        this.#holding = this.#valueAction !== undefined || this.#inspectStrings;
        i++;
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        this.#token = Token.Literal;
        this.#literal = LITERALS[c === 0x74 ? 0 : c === 0x66 ? 1 : 2]!;
        this.#literalAt = 1;
        this.#holding = this.#valueAction !== undefined;
        i++;
      } else {
        throw this.#invalid(c);
      }
    }

    // The chunk ends. A token that may be replaced is held back; everything else goes out.
    const holding = this.#token !== Token.None && this.#holding;
    const end = holding ? Math.max(this.#heldBytes > 0 ? 0 : tokenStart, this.#copyFrom) : length;
    if (this.#out.length > 0) {
      this.#out.appendRange(chunk, this.#copyFrom, end);
      pieces.push(this.#out.take());
    } else if (end > this.#copyFrom) {
      pieces.push(this.#copyFrom === 0 && end === length ? chunk : chunk.subarray(this.#copyFrom, end));
    }
    if (holding) this.#hold(chunk.subarray(end));
    this.#chunk = EMPTY_BUFFER;
    return pieces;
  }

  /** The input ended; returns the rest of the output. Throws JsonMaskError when the document is incomplete. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    // A number at the very end of the input ends with it.
    if (this.#token === Token.Number) {
      this.#chunk = EMPTY_BUFFER;
      this.#copyFrom = 0;
      this.#out.reset();
      this.#settle(this.#endScalar(EMPTY_BUFFER, 0, 0), 0, 0, out);
      if (this.#out.length > 0) out.push(this.#out.take());
    }
    if (this.#token !== Token.None) throw new JsonMaskError('the JSON document ends inside a value');
    if (this.#kinds.length > 0) throw new JsonMaskError(`the JSON document ends inside ${this.#kinds.length} unclosed ${this.#kinds.length === 1 ? 'object or array' : 'objects or arrays'}`);
    if (this.#expect !== Expect.Value) throw new JsonMaskError('the JSON document ends after a member name');
    return out;
  }

  #startString(isKey: boolean): void {
    this.#token = Token.String;
    this.#isKey = isKey;
    this.#hasEscape = false;
    // A member name is read when paths need it or detectors look at it; a value when anything may replace it.
    this.#holding = this.#inspectStrings || this.#scrubsEscaped || (isKey ? this.#pathsActive() : this.#valueAction !== undefined);
  }

  /** The string token [start, end) of `chunk` (after the held bytes) ended: its replacement JSON text, if any. */
  #endString(chunk: Buffer, start: number, end: number): string | undefined {
    this.#token = Token.None;
    if (!this.#holding) {
      if (this.#isKey) this.#expect = Expect.Colon;
      else this.#afterValue();
      return undefined;
    }
    // Held only for the escape scrub, and written without escapes: nothing to do.
    if (!this.#hasEscape && !this.#inspectStrings && (this.#isKey ? !this.#pathsActive() : this.#valueAction === undefined)) {
      if (this.#isKey) this.#expect = Expect.Colon;
      else this.#afterValue();
      return undefined;
    }
    const text = this.#decodeString(chunk, start, end);
    if (this.#isKey) {
      this.#key = text;
      this.#expect = Expect.Colon;
      return this.#replace.key(text, this.#hasEscape);
    }
    const action = this.#valueAction;
    this.#afterValue();
    return this.#replace.string(text, action, this.#hasEscape);
  }

  /**
   * A token [tokenStart, end) of the current chunk ended: its replacement goes out in its place
   * (the chunk's bytes before it copied first), or, unchanged, its bytes held from earlier chunks.
   */
  #settle(replacement: string | undefined, tokenStart: number, end: number, pieces: Buffer[]): void {
    if (replacement !== undefined) {
      const out = this.#out;
      if (out.length === 0 && pieces.length === 0 && this.#copyFrom === 0) out.reserve(this.#chunk.length + replacement.length * 3);
      out.appendRange(this.#chunk, this.#copyFrom, tokenStart);
      out.appendString(replacement);
      this.#copyFrom = end;
    } else if (this.#heldBytes > 0) {
      // Only a token that began in an earlier chunk is held, and it ends before anything else in this one.
      pieces.push(...this.#held);
    }
    this.#clearHeld();
  }

  /** A number or literal [start, end) of `chunk` (after the held bytes) ended: its replacement JSON text, if any. */
  #endScalar(chunk: Buffer, start: number, end: number): string | undefined {
    const number = this.#token === Token.Number;
    this.#token = Token.None;
    const action = this.#valueAction;
    this.#afterValue();
    if (!this.#holding || (!action && !number)) return undefined;
    const text = this.#heldBytes > 0 ? Buffer.concat([...this.#held, chunk.subarray(0, end)]).toString('latin1') : chunk.toString('latin1', start, end);
    if (!action) return this.#replace.number(text);
    // Nothing to hide in a null.
    return text === 'null' ? undefined : this.#replace.apply(action, text, false);
  }

  #decodeString(chunk: Buffer, start: number, end: number): string {
    const held = this.#heldBytes > 0;
    const bytes = held ? Buffer.concat([...this.#held, chunk.subarray(0, end)]) : chunk;
    const from = held ? 0 : start;
    const to = held ? bytes.length : end;
    if (!this.#hasEscape) return bytes.toString('utf8', from + 1, to - 1);
    try {
      return JSON.parse(bytes.toString('utf8', from, to)) as string;
    } catch {
      throw new JsonMaskError('a JSON string has an invalid escape');
    }
  }

  /** A value begins: where it sits, and whether a rule covers it. */
  #enterValue(): void {
    const depth = this.#kinds.length;
    if (this.#expect === Expect.ValueOrClose) this.#expect = Expect.Value;
    if (depth === 0) {
      this.#valueStates = this.#paths ? this.#paths.set.root : EMPTY;
      this.#valueAction = this.#paths?.actionFor(this.#valueStates.matched, undefined);
      return;
    }
    const parentStates = this.#states[depth - 1]!;
    const inherited = this.#actions[depth - 1];
    if (!this.#paths || parentStates.states.length === 0) {
      this.#valueStates = EMPTY;
      this.#valueAction = inherited;
      return;
    }
    const step = this.#kinds[depth - 1] === OBJECT ? this.#key : this.#indexes[depth - 1]!;
    this.#valueStates = this.#paths.set.step(parentStates, step);
    this.#valueAction = this.#paths.actionFor(this.#valueStates.matched, inherited);
  }

  #afterValue(): void {
    const depth = this.#kinds.length;
    if (depth === 0) {
      // Another top-level value may follow (JSON lines).
      this.#expect = Expect.Value;
      return;
    }
    if (this.#kinds[depth - 1] === ARRAY) this.#indexes[depth - 1]! += 1;
    this.#expect = Expect.CommaOrClose;
  }

  #open(kind: number): void {
    if (this.#kinds.length >= this.#maxDepth) throw new JsonMaskError(`the JSON document nests deeper than ${this.#maxDepth} levels`);
    this.#kinds.push(kind);
    this.#indexes.push(0);
    this.#states.push(this.#valueStates);
    this.#actions.push(this.#valueAction);
    this.#expect = kind === OBJECT ? Expect.KeyOrClose : Expect.ValueOrClose;
  }

  #close(kind: number): void {
    if (this.#kinds[this.#kinds.length - 1] !== kind) throw new JsonMaskError(`a "${kind === OBJECT ? '}' : ']'}" closes ${kind === OBJECT ? 'an array' : 'an object'}`);
    this.#kinds.pop();
    this.#indexes.pop();
    this.#states.pop();
    this.#actions.pop();
    this.#afterValue();
  }

  /** Paths can still match below the innermost open container (member names matter). */
  #pathsActive(): boolean {
    const depth = this.#kinds.length;
    return depth > 0 && this.#states[depth - 1]!.states.length > 0;
  }

  #hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > this.#maxToken) throw new JsonMaskError(`a JSON value of more than ${this.#maxToken} bytes cannot be masked`);
    // A copy: the chunk it views may be reused by the stream that produced it.
    this.#held.push(Buffer.from(bytes));
  }

  #clearHeld(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }

  #invalid(byte: number): JsonMaskError {
    const shown = byte >= 0x20 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
    return new JsonMaskError(`not JSON: unexpected ${shown}`);
  }
}
