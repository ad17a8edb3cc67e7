import { describe, expect, it } from 'vitest';
import { compileCustomPattern } from '../../../proxy/masking/custom-pattern.js';
import { allBuiltinDetectors, builtinDetector } from '../../../proxy/masking/detector-registry.js';
import type { ContentRule, Detector, DetectorMatch, MaskingStrategy, StrategySpec } from '../../../proxy/masking/masking-types.js';
import { TextMasker } from '../../../proxy/masking/text-masker.js';

const KEY = Buffer.alloc(32, 3);

const rule = (name: string, detectors: readonly Detector[], spec: StrategySpec = { strategy: 'redact' }): ContentRule => ({ rule: name, detectors, spec });

/** A detector that reports fixed spans, for overlap tests. */
function spans(name: string, ...ranges: [number, number][]): Detector {
  return {
    name,
    find(_text: string, out: DetectorMatch[]) {
      for (const [start, end] of ranges) out.push({ start, end, detector: name });
    },
  };
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----';

/** A document with every kind of PII the built-in detectors know, some next to JSON escapes. */
const DOCUMENT = {
  customer: { name: 'Alice Smith', email: 'alice.smith@example.com', note: 'line one\nbob@example.org\tthen "quoted" c@example.net' },
  phones: ['+1 555-0142', '(415) 555-0123', '+44 20 7946 0958'],
  payment: { card: '4242 4242 4242 4242', iban: 'DE89 3704 0044 0532 0130 00', ssn: '123-45-6789' },
  network: { v4: '192.168.1.254', v6: 'fe80::1%eth0', log: 'from 10.0.0.1 to 2001:db8::1' },
  secrets: {
    jwt: JWT,
    aws: 'AKIAIOSFODNN7EXAMPLE',
    aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    github: 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
    gitlab: 'glpat-xxxxxxxxxxxxxxxxxxxx',
    slack: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    private_key: PEM,
    password: 'p@ss"w0rd\\with-escapes',
    config: 'db_password=Xk9#mQ2vLp; api_key: sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  },
};
const SENSITIVE = [
  'alice.smith@example.com', 'bob@example.org', 'c@example.net', '555-0142', '555-0123', '7946 0958', '4242 4242 4242 4242',
  'DE89', '123-45-6789', '192.168.1.254', 'fe80::1', '10.0.0.1', '2001:db8::1', JWT.slice(0, 40), 'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI', 'ghp_aBcDeF', 'glpat-', 'hooks.slack.com', 'MIIEowIBAAKCAQEAu1SU1', 'w0rd', 'Xk9#mQ2vLp', 'sk_live_',
];

describe('TextMasker', () => {
  it('is empty without rules and masks nothing', () => {
    const masker = new TextMasker([], KEY);
    expect(masker.empty).toBe(true);
    expect(masker.mask('alice@example.com', new Map())).toBeUndefined();
    expect(new TextMasker([rule('r', [builtinDetector('email')])], KEY).empty).toBe(false);
  });

  it('returns undefined and counts nothing when nothing matches', () => {
    const masker = new TextMasker([rule('pii', allBuiltinDetectors())], KEY);
    const hits = new Map<string, number>();
    expect(masker.mask('', hits)).toBeUndefined();
    expect(masker.mask('Nothing to see here: order 42 shipped on 2024-01-15 at 12:30.', hits)).toBeUndefined();
    expect(hits.size).toBe(0);
  });

  it('replaces every match and counts hits per rule', () => {
    const masker = new TextMasker(
      [rule('emails', [builtinDetector('email')]), rule('cards', [builtinDetector('card')], { strategy: 'partial' })],
      KEY,
    );
    const hits = new Map<string, number>([['emails', 1]]);
    const out = masker.mask('a@example.com paid with 4242 4242 4242 4242, cc b@example.com', hits);
    expect(out).toBe('[redacted:email] paid with **** **** **** 4242, cc [redacted:email]');
    expect(hits).toEqual(new Map([['emails', 3], ['cards', 1]]));
  });

  it('prefers the earlier start, then the longer match, then the rule listed first', () => {
    const text = '0123456789';
    const hits = new Map<string, number>();
    const masker = new TextMasker(
      [
        rule('first', [spans('a', [2, 5])], { strategy: 'redact', replacement: 'A' }),
        rule('second', [spans('b', [1, 3], [2, 8], [2, 5], [8, 10])], { strategy: 'redact', replacement: 'B' }),
      ],
      KEY,
    );
    // [1,3) starts first; [2,8), [2,5) and first's [2,5) overlap it; [8,10) is clear.
    expect(masker.mask(text, hits)).toBe('0B34567B');
    expect(hits).toEqual(new Map([['second', 2]]));

    const tie = new TextMasker(
      [rule('first', [spans('a', [2, 5])], { strategy: 'redact', replacement: 'A' }), rule('second', [spans('b', [2, 5], [2, 6])], { strategy: 'redact', replacement: 'B' })],
      KEY,
    );
    expect(tie.mask(text, new Map())).toBe('01B6789');
    const exact = new TextMasker(
      [rule('first', [spans('a', [2, 5])], { strategy: 'redact', replacement: 'A' }), rule('second', [spans('b', [2, 5])], { strategy: 'redact', replacement: 'B' })],
      KEY,
    );
    expect(exact.mask(text, new Map())).toBe('01A56789');
  });

  it('lets a keyed secret and a JWT at the same place count once', () => {
    const masker = new TextMasker([rule('tokens', [builtinDetector('jwt'), builtinDetector('keyed_secret')])], KEY);
    const hits = new Map<string, number>();
    expect(masker.mask(`token=${JWT}`, hits)).toBe('token=[redacted:jwt]');
    expect(hits.get('tokens')).toBe(1);
  });

  it('makes the whole value NULL when a null-strategy rule matches', () => {
    const masker = new TextMasker([rule('emails', [builtinDetector('email')]), rule('cards', [builtinDetector('card')], { strategy: 'null' })], KEY);
    const hits = new Map<string, number>();
    expect(masker.mask('a@example.com', hits)).toBe('[redacted:email]');
    expect(masker.mask('a@example.com 4242424242424242', hits)).toBeNull();
    expect(hits).toEqual(new Map([['emails', 2], ['cards', 1]]));
  });

  it('does not split a JSON escape in front of a match', () => {
    const masker = new TextMasker([rule('emails', [builtinDetector('email')])], KEY);
    // JSON text as an encoder may write it: a line break and an escaped `A` right before addresses.
    const json = String.raw`{"note":"line\nuser@example.com and \u0041lice@example.com, \\bob@example.com"}`;
    const out = masker.mask(json, new Map())!;
    expect(JSON.parse(out)).toEqual({ note: 'line\n[redacted:email] and A[redacted:email], \\[redacted:email]' });
  });

  it.each<MaskingStrategy>(['redact', 'partial', 'hash', 'fake'])('keeps a JSON document with every kind of PII valid JSON (%s)', (strategy) => {
    const masker = new TextMasker([rule('pii', allBuiltinDetectors(), { strategy })], KEY);
    for (const json of [JSON.stringify(DOCUMENT), JSON.stringify(DOCUMENT, null, 2)]) {
      const hits = new Map<string, number>();
      const out = masker.mask(json, hits);
      expect(typeof out).toBe('string');
      const parsed: unknown = JSON.parse(out!);
      const text = JSON.stringify(parsed);
      for (const value of SENSITIVE) expect(text).not.toContain(value);
      expect(hits.get('pii')).toBeGreaterThanOrEqual(SENSITIVE.length - 4);
    }
  });

  it('masks PEM blocks whose line breaks are real, in plain text', () => {
    const masker = new TextMasker([rule('keys', [builtinDetector('private_key')])], KEY);
    expect(masker.mask(`key:\n${PEM}\nend`, new Map())).toBe('key:\n[redacted:private_key]\nend');
  });

  it('applies custom patterns like built-in detectors', () => {
    const masker = new TextMasker([rule('employee-ids', [compileCustomPattern('EMP-[0-9]{6}')], { strategy: 'hash' })], KEY);
    const hits = new Map<string, number>();
    const out = masker.mask('EMP-123456 reports to EMP-654321', hits)!;
    expect(out).toMatch(/^[0-9a-f]{32} reports to [0-9a-f]{32}$/);
    expect(hits.get('employee-ids')).toBe(2);
    expect(masker.mask('EMP-123456', new Map())).toBe(out.slice(0, 32));
  });

  it('can be reused across many texts', () => {
    const masker = new TextMasker([rule('pii', allBuiltinDetectors())], KEY);
    for (let i = 0; i < 50; i++) {
      expect(masker.mask(`user${i}@example.com`, new Map())).toBe('[redacted:email]');
      expect(masker.mask(`plain ${i}`, new Map())).toBeUndefined();
    }
  });
});
