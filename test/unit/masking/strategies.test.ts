import { describe, expect, it } from 'vitest';
import { builtinDetector } from '../../../proxy/masking/detector-registry.js';
import { luhnValid } from '../../../proxy/masking/detectors/card-check.js';
import { ibanRemainder } from '../../../proxy/masking/detectors/iban-check.js';
import type { DetectorMatch, DetectorName, StrategySpec } from '../../../proxy/masking/masking-types.js';
import { applyStrategy } from '../../../proxy/masking/strategies.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);

const apply = (value: string, spec: StrategySpec, detector?: string, key = KEY) => applyStrategy(value, spec, key, detector);
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const UNSAFE = /["\\\u0000-\u001f\u007f]/;

/** What a detector finds in `text`, as strings. */
function detect(name: DetectorName, text: string): string[] {
  const out: DetectorMatch[] = [];
  builtinDetector(name).find(text, out);
  return out.map((m) => text.slice(m.start, m.end));
}

describe('redact', () => {
  it('names the detector, or uses the configured replacement', () => {
    expect(apply('alice@example.com', { strategy: 'redact' }, 'email')).toBe('[redacted:email]');
    expect(apply('alice', { strategy: 'redact' })).toBe('[redacted]');
    expect(apply('alice', { strategy: 'redact', replacement: '***' }, 'email')).toBe('***');
  });
});

describe('partial', () => {
  const partial: StrategySpec = { strategy: 'partial' };

  it('keeps an email domain and hides the local part and its length', () => {
    expect(apply('alice.smith@example.com', partial, 'email')).toBe('****@example.com');
    expect(apply('a@example.com', partial, 'email')).toBe('****@example.com');
  });

  it('keeps the last four digits of digit-bearing hits, with their separators', () => {
    expect(apply('4242 4242 4242 4242', partial, 'card')).toBe('**** **** **** 4242');
    expect(apply('4242-4242-4242-4242', partial, 'card')).toBe('****-****-****-4242');
    expect(apply('+1 555-0142', partial, 'phone')).toBe('+* ***-0142');
    expect(apply('123-45-6789', partial, 'ssn')).toBe('***-**-6789');
    expect(apply('DE89 3704 0044 0532 0130 00', partial, 'iban')).toBe('**** **** **** **** **30 00');
    expect(apply('192.168.100.254', partial, 'ipv4')).toBe('***.***.**0.254');
  });

  it('honours keepLast', () => {
    expect(apply('4242 4242 4242 4242', { strategy: 'partial', keepLast: 2 }, 'card')).toBe('**** **** **** **42');
    expect(apply('4242424242424242', { strategy: 'partial', keepLast: 0 }, 'card')).toBe('****************');
    expect(apply('abcdefghijkl', { strategy: 'partial', keepLast: 3 })).toBe('*********jkl');
  });

  it('keeps the last characters of a column value and of other hits', () => {
    expect(apply('Jonathan Smith', partial)).toBe('**********mith');
    expect(apply('ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', partial, 'github_token')).toBe(`${'*'.repeat(36)}6789`);
  });

  it('stars short values entirely so they never show whole', () => {
    expect(apply('Bob', partial)).toBe('***');
    expect(apply('12345678', partial)).toBe('********');
    expect(apply('1234567', partial, 'phone')).toBe('*******');
    expect(apply('abcdefghij', { strategy: 'partial', keepLast: 5 })).toBe('**********');
  });

  it('keeps a private key only as its BEGIN and END lines', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\nAAKC\\n-----END RSA PRIVATE KEY-----';
    expect(apply(pem, partial, 'private_key')).toBe('-----BEGIN RSA PRIVATE KEY-----****-----END RSA PRIVATE KEY-----');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(apply('😀😀😀😀😀😀😀😀😀😀', { strategy: 'partial', keepLast: 2 })).toBe('********😀😀');
  });
});

describe('hash', () => {
  const hash: StrategySpec = { strategy: 'hash' };

  it('is 32 lowercase hex characters, the same for the same value and key', () => {
    const a = apply('alice@example.com', hash, 'email');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(apply('alice@example.com', hash, 'email')).toBe(a);
    expect(apply('alice@example.com', hash)).toBe(a);
  });

  it('depends on the value and on the key', () => {
    const a = apply('alice@example.com', hash);
    expect(apply('alice@example.org', hash)).not.toBe(a);
    expect(apply('alice@example.com', hash, undefined, OTHER_KEY)).not.toBe(a);
  });
});

describe('null', () => {
  it('returns null', () => {
    expect(apply('alice', { strategy: 'null' })).toBeNull();
    expect(apply('4242424242424242', { strategy: 'null' }, 'card')).toBeNull();
  });
});

describe('fake', () => {
  const fake: StrategySpec = { strategy: 'fake' };

  it('is deterministic per value and key', () => {
    expect(apply('Alice Smith', fake)).toBe(apply('Alice Smith', fake));
    expect(apply('Alice Smith', fake)).not.toBe(apply('Alice Smith', fake, undefined, OTHER_KEY));
    expect(apply('Alice Smith', fake)).not.toBe(apply('Alice Smyth', fake));
  });

  it('keeps the shape: digits stay digits, letters keep their case, punctuation stays', () => {
    const value = 'Order A-1234/xy, 2024-01-15 (Paid) +1 555-0142';
    const out = apply(value, fake)!;
    expect(out).toHaveLength(value.length);
    expect(out).not.toBe(value);
    for (let i = 0; i < value.length; i++) {
      const v = value[i]!;
      const o = out[i]!;
      if (/[0-9]/.test(v)) expect(o).toMatch(/[0-9]/);
      else if (/[A-Z]/.test(v)) expect(o).toMatch(/[A-Z]/);
      else if (/[a-z]/.test(v)) expect(o).toMatch(/[a-z]/);
      else expect(o).toBe(v);
    }
  });

  it('makes fake cards that pass Luhn, in the same grouping', () => {
    for (const card of ['4242 4242 4242 4242', '5555-5555-5555-4444', '378282246310005', '6011111111111117']) {
      const out = apply(card, fake, 'card')!;
      expect(out).not.toBe(card);
      expect(out.replace(/\d/g, '0')).toBe(card.replace(/\d/g, '0'));
      expect(luhnValid(out.replace(/\D/g, ''))).toBe(true);
    }
  });

  it('keeps an email address an email address with its TLD', () => {
    const out = apply('alice.smith@example.com', fake, 'email')!;
    expect(out).toMatch(/^[a-z]{5}\.[a-z]{5}@[a-z]{7}\.com$/);
    expect(out).not.toBe('alice.smith@example.com');
    expect(detect('email', out)).toEqual([out]);
  });

  it('keeps an IBAN country code and makes valid check digits', () => {
    const out = apply('DE89 3704 0044 0532 0130 00', fake, 'iban')!;
    expect(out).toMatch(/^DE\d\d \d{4} \d{4} \d{4} \d{4} \d\d$/);
    expect(ibanRemainder(out.replace(/ /g, ''))).toBe(1);
    const gb = apply('GB82WEST12345698765432', fake, 'iban')!;
    expect(gb).toMatch(/^GB\d\d[A-Z]{4}\d{14}$/);
    expect(ibanRemainder(gb)).toBe(1);
  });

  it('replaces letters of any script with ASCII letters of the same case', () => {
    const out = apply('Jürgen Ñandú Владимир 東京', fake)!;
    expect(out).toMatch(/^[A-Z][a-z]{5} [A-Z][a-z]{4} [A-Z][a-z]{7} [a-z]{2}$/);
  });

  it('keeps a private key block a block, with a fake body', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\\nMIIEow+/AAKC\\nBBBB==\\n-----END PRIVATE KEY-----';
    const out = apply(pem, fake, 'private_key')!;
    expect(out).toMatch(/^-----BEGIN PRIVATE KEY----- [A-Za-z0-9+/=]{18} -----END PRIVATE KEY-----$/);
    expect(out).not.toContain('MIIEow');
  });

  it('fakes long values from an extended byte stream', () => {
    const value = 'x'.repeat(500);
    const out = apply(value, fake)!;
    expect(out).toMatch(/^[a-z]{500}$/);
    expect(new Set(out.slice(400)).size).toBeGreaterThan(5);
  });
});

describe('every strategy', () => {
  const values = ['say "hi"\\n', 'tab\there\nnew line', 'back\\slash', '-----BEGIN EC PRIVATE KEY-----\\nAAAA\\n-----END EC PRIVATE KEY-----'];
  const specs: StrategySpec[] = [{ strategy: 'redact' }, { strategy: 'partial' }, { strategy: 'partial', keepLast: 30 }, { strategy: 'hash' }, { strategy: 'fake' }];

  it('never outputs a quote, a backslash or a control character', () => {
    for (const value of values) {
      for (const spec of specs) {
        for (const detector of [undefined, 'private_key', 'custom']) {
          expect(apply(value, spec, detector)).not.toMatch(UNSAFE);
        }
      }
    }
  });
});
