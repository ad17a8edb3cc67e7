// Recorded text shown to a person: control characters and bidi overrides escaped, so a
// recording cannot drive the viewer's terminal or reorder what they read.

/** `text` with control and bidi-override characters as `\xNN` / `\u{NNNN}`; characters in `keep` stay. */
export function printable(text: string, keep = ''): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (char) => {
    if (keep.includes(char)) return char;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
