// Character-code tests the hand-written scanners share. Detectors work on UTF-16 code units and
// look only at ASCII: every delimiter and every character of the values they find is ASCII.

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;

export const isAsciiLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

export const isAsciiAlnum = (c: number): boolean => isDigit(c) || isAsciiLetter(c);

/** `\w` in a JavaScript RegExp without the `u` flag: letters, digits and `_`. */
export const isWordChar = (c: number): boolean => isAsciiAlnum(c) || c === 95;

export const isHexDigit = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** A character that must never be inside a match: it would break the JSON text around it. */
export const isUnsafeInMatch = (c: number): boolean => c === 34 || c === 92 || c < 32 || c === 127;
