import type { ContentMasker } from './masking-types.js';

// Content detectors over a text body that arrives in chunks. Text is masked a run of whole lines
// at a time, so a value split across chunks is seen whole: the cut is after the last line break
// (0x0A never occurs inside a UTF-8 or Latin-1 character), moved back before a PEM block still
// open. A line longer than `maxLine` is cut after its last space; with no space at all, at
// `maxLine` (a value split there is not detected: such text is not what detectors look for).
// Bytes of a run the detectors leave alone go out as they came.

export interface TextMaskerOptions {
  readonly content: ContentMasker;
  readonly hits: Map<string, number>;
  /** `latin1` for single-byte charsets (read and written back byte for byte), else UTF-8. */
  readonly encoding: 'utf8' | 'latin1';
  /** The longest run held to find a line's end (default 1 MiB). */
  readonly maxLine?: number;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const PEM_BEGIN = Buffer.from('-----BEGIN ');
const PEM_END = Buffer.from('-----END ');
const DEFAULT_MAX_LINE = 1024 * 1024;
/** A PEM block longer than this is not a key (RSA-16384 PKCS#8 is about 13 KB). */
const MAX_PEM = 64 * 1024;

export class TextStreamMasker {
  readonly #options: TextMaskerOptions;
  readonly #maxLine: number;
  #carry: Buffer = Buffer.alloc(0);

  constructor(options: TextMaskerOptions) {
    this.#options = options;
    this.#maxLine = options.maxLine ?? DEFAULT_MAX_LINE;
  }

  write(chunk: Buffer): Buffer[] {
    const data = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const cut = this.#cut(data);
    // A copy: the chunk may be a view the producing stream reuses.
    this.#carry = Buffer.from(data.subarray(cut));
    return cut > 0 ? this.#mask(data.subarray(0, cut)) : [];
  }

  end(): Buffer[] {
    const rest = this.#carry;
    this.#carry = Buffer.alloc(0);
    return rest.length > 0 ? this.#mask(rest) : [];
  }

  /** Where the text may be cut: after the last line break outside an open PEM block. */
  #cut(data: Buffer): number {
    let cut = data.lastIndexOf(NEWLINE) + 1;
    if (cut > 0) {
      // A block whose END line has not arrived whole waits, from its BEGIN on.
      const begin = data.lastIndexOf(PEM_BEGIN, cut - 1);
      const end = begin === -1 ? -1 : data.indexOf(PEM_END, begin);
      if (begin !== -1 && (end === -1 || data.indexOf(NEWLINE, end) === -1) && data.length - begin <= MAX_PEM) cut = begin;
    }
    if (cut > 0 || data.length < this.#maxLine) return cut;
    const space = data.lastIndexOf(SPACE);
    return space > 0 ? space + 1 : data.length;
  }

  #mask(bytes: Buffer): Buffer[] {
    const { content, hits, encoding } = this.#options;
    if (content.empty) return [bytes];
    const text = bytes.toString(encoding);
    const masked = content.mask(text, hits);
    if (masked === undefined) return [bytes];
    return [Buffer.from(masked ?? '[hidden by a masking rule]', encoding)];
  }
}
