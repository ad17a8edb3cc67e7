import { isAscii, isUtf8 } from 'node:buffer';
import type { ContentMasker, MaskingHits } from '../masking/masking-types.js';
import { MaskingFailure } from './masking-failure.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

// COPY ... TO STDOUT: CopyOutResponse, then CopyData messages (PostgreSQL sends one row per
// message, ending in a newline), then CopyDone. COPY output carries no column sources, so only
// content detectors reach it. Text and CSV rows are masked in place: a detector's match never
// holds a tab, newline, quote or backslash, so replacing it keeps the row's fields where they
// were; a replacement that would move them fails closed. Binary COPY is refused.

/** Above this many bytes, checking for pure ASCII and decoding as latin1 beats the UTF-8 decoder. */
const ASCII_CHECK_BYTES = 2048;
const NEWLINE = 0x0a;

export const BINARY_COPY_REFUSAL = 'Sluice cannot mask binary COPY output; use COPY ... TO STDOUT in text or csv format';

/** Characters that shape a text or CSV row: a masked row must hold as many of each as the original. */
const LAYOUT = new Uint8Array(128);
for (const char of '\t\n\r"\\,') LAYOUT[char.charCodeAt(0)] = 1;

/** One session's COPY ... TO output, masked row by row. */
export class CopyOutMasker {
  /** Inside a COPY's output (between CopyOutResponse and CopyDone or an error). */
  #copying = false;

  constructor(private readonly content: ContentMasker) {}

  /** CopyOutResponse (or CopyBothResponse): starts a COPY. Throws MaskingFailure for output it cannot mask. */
  start(frame: Frame): void {
    if (frame.code === BackendCode.CopyBothResponse) {
      throw new MaskingFailure('Sluice cannot mask a replication stream (CopyBothResponse) for a caller with masking rules', '0A000');
    }
    if (copyFormat(frame) === 1) throw new MaskingFailure(BINARY_COPY_REFUSAL, '0A000');
    this.#copying = true;
  }

  /** The COPY ended (CopyDone, or an ErrorResponse in its middle). */
  end(): void {
    this.#copying = false;
  }

  /** A CopyData row: the masked message to send instead, or undefined to forward it unchanged. */
  data(frame: Frame, hits: MaskingHits): Buffer | undefined {
    if (!this.#copying) throw new ProtocolError('the server sent CopyData outside a COPY ... TO');
    const { buffer, end } = frame;
    const start = frame.start + 5;
    if (this.content.empty || start === end) return undefined;
    if (buffer[end - 1] !== NEWLINE) {
      // A value split across two messages could slip past the detectors half by half.
      throw new MaskingFailure('the upstream sent a COPY row split across CopyData messages, which Sluice cannot mask; Sluice refuses rows it cannot mask');
    }
    const text = end - start >= ASCII_CHECK_BYTES && isAscii(buffer.subarray(start, end)) ? buffer.toString('latin1', start, end) : buffer.toString('utf8', start, end);
    const masked = this.content.mask(text, hits);
    if (masked === undefined) return undefined;
    if (masked === null) {
      throw new MaskingFailure('a null-strategy masking rule matched COPY output, and COPY rows have no cell Sluice can make NULL; use SELECT');
    }
    if (!isUtf8(buffer.subarray(start, end))) {
      throw new MaskingFailure('Sluice masks COPY output only in UTF-8; run the COPY without an ENCODING option, with client_encoding UTF8', '22021');
    }
    if (!sameLayout(text, masked)) {
      throw new MaskingFailure('a masking replacement would change the fields of a COPY row (it holds a tab, comma, quote, backslash or line break); use SELECT');
    }
    const body = Buffer.from(masked, 'utf8');
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = BackendCode.CopyData;
    out.writeInt32BE(4 + body.length, 1);
    body.copy(out, 5);
    return out;
  }
}

/** A CopyOutResponse's format: 0 when the whole COPY is text (or CSV), 1 when it, or any column, is binary. */
function copyFormat(frame: Frame): 0 | 1 {
  const { buffer, end } = frame;
  let at = frame.start + 5;
  if (end - at < 3) throw malformed(frame, 'it is shorter than its format and column count');
  const overall = buffer[at]!;
  const count = buffer.readInt16BE(at + 1);
  at += 3;
  if (count < 0 || end - at !== count * 2) throw malformed(frame, `${count} column formats in ${end - at} bytes`);
  if (overall !== 0) return 1;
  for (; at < end; at += 2) if (buffer.readInt16BE(at) !== 0) return 1;
  return 0;
}

/** True when both texts hold as many of each row-shaping character. */
function sameLayout(before: string, after: string): boolean {
  const counts = new Int32Array(128);
  for (let i = 0; i < before.length; i++) {
    const c = before.charCodeAt(i);
    if (c < 128 && LAYOUT[c] === 1) counts[c]!++;
  }
  for (let i = 0; i < after.length; i++) {
    const c = after.charCodeAt(i);
    if (c < 128 && LAYOUT[c] === 1) counts[c]!--;
  }
  return counts.every((count) => count === 0);
}

function malformed(frame: Frame, reason: string): ProtocolError {
  return new ProtocolError(`malformed ${describeCode(frame.code)} message from the server: ${reason}`);
}
