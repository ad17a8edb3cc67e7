// IBAN validation: the length each country issues (ISO 13616 registry, main countries) and the
// ISO 7064 mod-97 checksum over the rearranged, letter-expanded number.

const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27,
  GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24,
  ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

export const IBAN_MIN_LENGTH = 15;
export const IBAN_MAX_LENGTH = 34;

/** The IBAN length for a country code, or undefined when the table does not know it. */
export function ibanLength(country: string): number | undefined {
  return Object.hasOwn(IBAN_LENGTHS, country) ? IBAN_LENGTHS[country] : undefined;
}

/**
 * The mod-97 remainder of a compact IBAN (uppercase letters and digits, no spaces): 1 for a
 * valid one. The first four characters move to the end and each letter counts as 10..35.
 */
export function ibanRemainder(compact: string): number {
  let r = 0;
  const n = compact.length;
  for (let k = 0; k < n; k++) {
    const c = compact.charCodeAt((k + 4) % n);
    r = c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97;
  }
  return r;
}

/** ibanRemainder of the IBAN in `text[start, end)`, spaces skipped, without copying it. */
export function ibanRemainderIn(text: string, start: number, end: number): number {
  // The BBAN after the first four characters, then country code and check digits.
  let r = 0;
  let head = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) continue;
    if (head < 4) {
      head++;
      continue;
    }
    r = c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97;
  }
  for (let i = start; i < start + 4; i++) {
    const c = text.charCodeAt(i);
    r = c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97;
  }
  return r;
}

/** The two check digits that make a compact IBAN (with any check digits in place) valid. */
export function ibanCheckDigits(compact: string): string {
  const check = 98 - ibanRemainder(`${compact.slice(0, 2)}00${compact.slice(4)}`);
  return check < 10 ? `0${check}` : String(check);
}
