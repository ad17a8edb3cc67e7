import { randomBytes } from 'node:crypto';

// ULID (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits, 26 characters
// of Crockford base32. Ids sort by creation time, so "newest sessions" is an index walk.

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_MAX = 2 ** 48 - 1;

/** Makes ULIDs that are strictly increasing within this generator, also within one millisecond. */
export function ulidFactory(now: () => number = Date.now): () => string {
  let lastTime = -1;
  let lastRandom: Uint8Array = new Uint8Array(10);
  return () => {
    let time = now();
    if (!Number.isInteger(time) || time < 0 || time > TIME_MAX) throw new RangeError(`ULID time out of range: ${time}`);
    if (time <= lastTime) {
      // Same millisecond (or the clock stepped back): the previous random part + 1 keeps order.
      time = lastTime;
      lastRandom = increment(lastRandom);
    } else {
      lastTime = time;
      lastRandom = new Uint8Array(randomBytes(10));
    }
    return encodeTime(time) + encodeRandom(lastRandom);
  };
}

/** The shared generator: monotonic across the whole process. */
export const ulid = ulidFactory();

/** The millisecond time a ULID carries. */
export function ulidTime(id: string): number {
  let time = 0;
  for (const char of id.slice(0, 10)) {
    const value = ALPHABET.indexOf(char.toUpperCase());
    if (value < 0) throw new RangeError(`not a ULID: ${id}`);
    time = time * 32 + value;
  }
  return time;
}

export function isUlid(text: string): boolean {
  return /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(text);
}

function encodeTime(time: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32]! + out;
    time = Math.floor(time / 32);
  }
  return out;
}

/** 80 bits -> 16 characters of 5 bits each, most significant first. */
function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31]!;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    const byte = next[i] ?? 0;
    next[i] = (byte + 1) & 0xff;
    if (byte !== 0xff) return next;
  }
  // 2^80 ids in one millisecond cannot happen; wrapping to zero would break order, so say so.
  throw new RangeError('ULID random part overflowed within one millisecond');
}
