// A tiny ASN.1 DER encoder: just enough to build an X.509 v3 certificate (tls-material.ts)
// without an npm dependency. Encoders only, single-byte tags only; every function returns the
// complete TLV so callers compose them like the ASN.1 they transcribe.

const UNIVERSAL = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte identifier (class, constructed bit and tag number < 31). */
export function derTlv(identifier: number, content: Uint8Array): Buffer {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xff || (identifier & 0x1f) === 0x1f) {
    throw new RangeError(`DER identifier 0x${identifier.toString(16)} needs the multi-byte tag form, which this encoder does not support`);
  }
  return Buffer.concat([Buffer.from([identifier]), lengthBytes(content.length), content]);
}

export function derSequence(...items: readonly Uint8Array[]): Buffer {
  return derTlv(UNIVERSAL.sequence, Buffer.concat(items));
}

/** SET OF: DER sorts the encoded elements. */
export function derSet(...items: readonly Uint8Array[]): Buffer {
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return derTlv(UNIVERSAL.set, Buffer.concat(sorted));
}

export function derBoolean(value: boolean): Buffer {
  return derTlv(UNIVERSAL.boolean, Buffer.from([value ? 0xff : 0x00]));
}

export function derNull(): Buffer {
  return derTlv(UNIVERSAL.null, Buffer.alloc(0));
}

/** A non-negative INTEGER in its minimal two's-complement form. */
export function derInteger(value: bigint | number | Uint8Array): Buffer {
  let magnitude: Buffer;
  if (value instanceof Uint8Array) {
    magnitude = Buffer.from(value);
  } else {
    const big = BigInt(value);
    if (big < 0n) throw new RangeError('derInteger encodes non-negative integers only');
    const hex = big.toString(16);
    magnitude = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  }
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let content = magnitude.subarray(start);
  if (content.length === 0) content = Buffer.from([0]);
  // A set high bit would read as negative: prefix a zero byte.
  if ((content[0] ?? 0) & 0x80) content = Buffer.concat([Buffer.from([0]), content]);
  return derTlv(UNIVERSAL.integer, content);
}

/** OBJECT IDENTIFIER from dotted notation ("1.2.840.10045.4.3.2"). */
export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`invalid OID "${dotted}"`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new RangeError(`invalid OID "${dotted}"`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const group = [Number(arc & 0x7fn)];
    for (let rest7 = arc >> 7n; rest7 > 0n; rest7 >>= 7n) group.unshift(Number(rest7 & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return derTlv(UNIVERSAL.oid, Buffer.from(bytes));
}

export function derOctetString(bytes: Uint8Array): Buffer {
  return derTlv(UNIVERSAL.octetString, bytes);
}

/** BIT STRING of whole bytes (public keys, signatures). */
export function derBitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) throw new RangeError('unused bits must be 0..7');
  return derTlv(UNIVERSAL.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A NamedBitList BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte, and
 * DER drops trailing zero bits (X.690 11.2.2), so only the set bits decide the length.
 */
export function derNamedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return derBitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0) throw new RangeError(`invalid named bit ${bit}`);
    bytes[Math.floor(bit / 8)]! |= 0x80 >> bit % 8;
  }
  return derBitString(bytes, 7 - (highest % 8));
}

export function derUtf8String(text: string): Buffer {
  return derTlv(UNIVERSAL.utf8String, Buffer.from(text, 'utf8'));
}

export function derPrintableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new RangeError(`"${text}" has characters PrintableString cannot hold`);
  return derTlv(UNIVERSAL.printableString, Buffer.from(text, 'ascii'));
}

export function derIa5String(text: string): Buffer {
  if ([...text].some((char) => char.charCodeAt(0) > 0x7f)) throw new RangeError(`"${text}" is not ASCII (IA5String)`);
  return derTlv(UNIVERSAL.ia5String, Buffer.from(text, 'ascii'));
}

/**
 * An X.509 Time (RFC 5280 4.1.2.5): UTCTime YYMMDDHHMMSSZ for years 1950..2049, GeneralizedTime
 * YYYYMMDDHHMMSSZ otherwise; always UTC, whole seconds (fractions are dropped, never rounded up).
 */
export function derTime(date: Date): Buffer {
  const time = date.getTime();
  if (!Number.isFinite(time)) throw new RangeError('invalid date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} does not fit an X.509 time`);
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year <= 2049) return derTlv(UNIVERSAL.utcTime, Buffer.from(`${two(year % 100)}${rest}`, 'ascii'));
  return derTlv(UNIVERSAL.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'ascii'));
}

/** [n] EXPLICIT: a context-specific constructed wrapper around one complete element. */
export function derExplicit(tagNumber: number, inner: Uint8Array): Buffer {
  return derTlv(0xa0 | contextTag(tagNumber), inner);
}

/** [n] IMPLICIT over a primitive type: the content octets under a context-specific tag. */
export function derImplicitPrimitive(tagNumber: number, content: Uint8Array): Buffer {
  return derTlv(0x80 | contextTag(tagNumber), content);
}

function contextTag(tagNumber: number): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError(`context tag [${tagNumber}] needs the multi-byte tag form`);
  return tagNumber;
}
