// Validation for payment card numbers: the Luhn checksum and the issuer prefixes in use, so a
// 16-digit order number is a card only when both agree (about 1 in 10 random numbers pass Luhn).

/** True when the digits (ASCII, nothing else) pass the Luhn checksum. */
export function luhnValid(digits: string): boolean {
  return luhnSum(digits, false) % 10 === 0;
}

/** Luhn over the digits of `text[start, end)`, skipping anything else (group separators). */
export function luhnValidIn(text: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    let d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The digit that, appended to `body`, makes it pass Luhn. */
export function luhnCheckDigit(body: string): number {
  return (10 - (luhnSum(body, true) % 10)) % 10;
}

function luhnSum(digits: string, doubleLast: boolean): number {
  let sum = 0;
  let double = doubleLast;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum;
}

/**
 * True when a number of `len` digits whose first six are `p6` starts like a card of a known
 * network and has a length that network issues: Visa, Mastercard, Amex, Discover, JCB, Diners,
 * UnionPay, Maestro, Mir, Verve, RuPay.
 */
export function knownIssuer(p6: number, len: number): boolean {
  const p2 = Math.floor(p6 / 10_000);
  const p3 = Math.floor(p6 / 1_000);
  const p4 = Math.floor(p6 / 100);
  switch (Math.floor(p6 / 100_000)) {
    case 2:
      // Mastercard 2221-2720; Mir 2200-2204.
      return len === 16 && ((p4 >= 2221 && p4 <= 2720) || (p4 >= 2200 && p4 <= 2204));
    case 3:
      if (p2 === 34 || p2 === 37) return len === 15; // Amex
      if (p4 >= 3528 && p4 <= 3589) return len >= 16 && len <= 19; // JCB
      if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p3 === 309) return len >= 14 && len <= 19; // Diners
      return false;
    case 4:
      return len === 13 || len === 16 || len === 19; // Visa
    case 5:
      if (p2 >= 51 && p2 <= 55) return len === 16; // Mastercard
      if (p6 >= 506099 && p6 <= 507999) return len >= 16 && len <= 19; // Verve
      return (p2 === 50 || (p2 >= 56 && p2 <= 59)) && len >= 12 && len <= 19; // Maestro
    case 6:
      if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return len >= 16 && len <= 19; // Discover
      if (p2 === 62 || p2 === 81) return len >= 16 && len <= 19; // UnionPay
      if (p2 === 60 || p2 === 63 || p2 === 67 || p2 === 68 || p2 === 69 || p2 === 61 || p2 === 64 || p2 === 66) return len >= 12 && len <= 19; // Maestro, RuPay and others
      return false;
    default:
      return false;
  }
}
