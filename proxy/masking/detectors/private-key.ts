import type { Detector, DetectorMatch } from '../masking-types.js';

// PEM private key blocks (PKCS#1, PKCS#8, SEC1, OpenSSH, encrypted, PGP), the whole block from
// its BEGIN line through the matching END line. In JSON text the line breaks are the two
// characters `\n` (or `\r\n`, and `/` may appear as `\/`), so those escapes are body characters
// too; a `"` ends the body, so a match never runs past the JSON string that holds it.

const BEGIN = '-----BEGIN ';

// Body characters: base64, header lines (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: AES-128-CBC,...`,
// PGP `Version:`), whitespace and JSON escapes of line breaks. A dash is allowed only alone, so
// the body stops at the `-----` of the END line (or of the next BEGIN) without backtracking.
const PEM_BLOCK =
  /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY( BLOCK)?-----(?:[A-Za-z0-9+/=:,.() \t\r\n]|-(?!-)|\\[nrt/])*-----END \1PRIVATE KEY\2-----/y;

/** The end of the PEM private key block that begins at `start`, or -1. */
export function privateKeyEndAt(text: string, start: number): number {
  PEM_BLOCK.lastIndex = start;
  return PEM_BLOCK.test(text) ? PEM_BLOCK.lastIndex : -1;
}

// Searched from `BEGIN `: indexOf skips faster to an uppercase B than to a dash, which dates
// and lists make common.
const ANCHOR = 'BEGIN ';

export const privateKeyDetector: Detector = {
  name: 'private_key',
  find(text: string, out: DetectorMatch[]): void {
    let i = text.indexOf(ANCHOR, 5);
    while (i >= 0) {
      const start = i - 5;
      const end = text.startsWith(BEGIN, start) ? privateKeyEndAt(text, start) : -1;
      if (end > 0) out.push({ start, end, detector: 'private_key' });
      i = text.indexOf(ANCHOR, end > 0 ? end + 5 : i + 1);
    }
  },
};
