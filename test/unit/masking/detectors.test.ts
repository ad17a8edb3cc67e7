import { describe, expect, it } from 'vitest';
import { builtinDetector, isDetectorName } from '../../../proxy/masking/detector-registry.js';
import { DETECTOR_NAMES, type DetectorMatch, type DetectorName } from '../../../proxy/masking/masking-types.js';

/** The texts a detector finds in `text`, in order. */
function found(name: DetectorName, text: string): string[] {
  const out: DetectorMatch[] = [];
  builtinDetector(name).find(text, out);
  for (const m of out) expect(m.detector).toBe(name);
  return out.sort((a, b) => a.start - b.start).map((m) => text.slice(m.start, m.end));
}

interface Case {
  readonly detector: DetectorName;
  /** Texts whose marked part (between ⟦ and ⟧, or the whole text) is exactly what the detector finds. */
  readonly finds: readonly string[];
  readonly ignores: readonly string[];
}

// A JWT whose header is {"alg":"HS256","typ":"JWT"}.
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
// Starts with `eyJ` (`{"`) but is not JSON.
const notJsonHeader = Buffer.from('{"alg" "HS256"}').toString('base64url');
const PEM_BODY = ['MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun', 'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK', 'LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo'];

const CASES: readonly Case[] = [
  {
    detector: 'email',
    finds: [
      'alice@example.com',
      'mail ⟦bob.smith+tag@mail.example.co.uk⟧.',
      '<⟦a_b-c%d@sub-domain.example.org⟧>',
      '"⟦x@xn--80ak6aa92e.xn--p1ai⟧"',
    ],
    ignores: ['a@b', 'user@localhost', 'x@1.2', 'a@b.c', '.@example.com', 'a..b@example.com', '@example.com', 'me@-bad.com', 'node@18.0.1', 'name@example.c0m'],
  },
  {
    detector: 'phone',
    finds: [
      '+14155550123',
      'call ⟦+44 20 7946 0958⟧ now',
      '⟦(415) 555-0123⟧',
      '⟦415-555-0123⟧',
      '⟦415.555.0123⟧',
      'demo ⟦+1 555-0142⟧,',
      '⟦1-415-555-0123⟧',
      '⟦+44 (0)20 7946 0958⟧',
      '⟦020 7946 0958⟧',
      'Tel:⟦06-12345678⟧',
      'ref 12345 ⟦415-555-0123⟧',
    ],
    ignores: [
      '2024-01-15',
      '15.01.2024',
      '01-02-2024',
      'version 1.2.3',
      '192.168.1.10',
      '12:30:45',
      '4155550123',
      '555-0123',
      'order 123456789012345678',
      'x4155550123',
      '415-555-0123-77',
      '1-415-555-0123-77',
      'x1-415-555-0123',
      '+1 2',
      '+12345',
      '3.14159265',
      'v415-555-0123',
    ],
  },
  {
    detector: 'card',
    finds: [
      '4242424242424242',
      'visa ⟦4242 4242 4242 4242⟧ exp 12/29',
      '⟦5555-5555-5555-4444⟧',
      'amex ⟦3782 822463 10005⟧',
      '⟦378282246310005⟧',
      '⟦6011111111111117⟧',
      '⟦2223003122003222⟧',
      '⟦3530111333300000⟧',
      '⟦4242 4242 4242 4242⟧ 12',
      'ref 1234 ⟦4242 4242 4242 4242⟧',
    ],
    ignores: [
      '4242424242424241',
      '1234567812345670',
      '94242424242424242',
      '42424242424242420',
      'x4242424242424242',
      '4242424242424242.5',
      '4242-4242-4242-4242-5',
      '4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2',
      '4242 42 42424242 4242',
      '0000000000000000',
    ],
  },
  {
    detector: 'iban',
    finds: ['DE89370400440532013000', 'pay ⟦DE89 3704 0044 0532 0130 00⟧ today', '⟦GB82 WEST 1234 5698 7654 32⟧', '⟦FR1420041010050500013M02606⟧', '⟦NO9386011117947⟧'],
    ignores: ['DE89370400440532013001', 'DE88370400440532013000', 'DE8937040044053201300', 'XDE89370400440532013000', 'DE89 37040044 0532 0130 00', 'de89370400440532013000'],
  },
  {
    detector: 'ssn',
    finds: ['123-45-6789', 'SSN ⟦123 45 6789⟧', 'ssn: ⟦123456789⟧', '"ssn":"⟦123456789⟧"', 'social security number: ⟦078051120⟧'],
    ignores: ['000-12-3456', '666-12-3456', '900-12-3456', '999-99-9999', '123-00-6789', '123-45-0000', '123456789', '123-45 6789', '1123-45-6789', '123-45-67890', 'id: 123456789'],
  },
  {
    detector: 'ipv4',
    finds: ['10.0.0.1', 'from ⟦192.168.1.254⟧:5432', 'host ⟦8.8.8.8⟧.', '⟦255.255.255.255⟧/32', '⟦0.0.0.0⟧'],
    ignores: ['256.1.1.1', '1.2.3.4.5', '01.2.3.4', 'v1.2.3.4', '1.2.3', '10.0.0.1a', '1.2.3.4.0', '999.1.1.1'],
  },
  {
    detector: 'ipv6',
    finds: [
      '2001:db8::1',
      '::1',
      'addr ⟦fe80::1%eth0⟧ up',
      '⟦2001:0db8:85a3:0000:0000:8a2e:0370:7334⟧',
      '[⟦2001:db8::ff00:42:8329⟧]:443',
      '⟦::ffff:192.0.2.1⟧',
      'gw ⟦fe80::⟧,',
    ],
    ignores: ['12:30:45', '2024-01-15T12:30:45Z', 'std::vector', 'Foo::Bar', 'dead::beef', '00:1a:2b:3c:4d:5e', '1:2:3:4:5:6:7:8:9', '2001:db8::1::2', '12345::1', '::', 'a:b'],
  },
  {
    detector: 'jwt',
    finds: [JWT, `Authorization: Bearer ⟦${JWT}⟧.`, `{"token":"⟦${JWT}⟧"}`],
    ignores: [`${notJsonHeader}.eyJzdWIiOiIxIn0.c2ln`, 'eyJub3RhbGciOjF9.eyJzdWIiOiIxIn0.c2ln', `x${JWT}`, 'eyJhbGciOiJIUzI1NiJ9'],
  },
  {
    detector: 'aws_access_key_id',
    finds: ['AKIAIOSFODNN7EXAMPLE', 'key=⟦ASIAY34FZKBOKMUTVV7A⟧;'],
    ignores: ['AKIAIOSFODNN7EXAMPL', 'XAKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE1', 'AKIDIOSFODNN7EXAMPLE'],
  },
  {
    detector: 'aws_secret_access_key',
    finds: [
      'aws_secret_access_key=⟦wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY⟧',
      'AWS_SECRET_ACCESS_KEY: ⟦wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY⟧',
      '{"SecretAccessKey": "⟦wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY⟧"}',
    ],
    ignores: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX', 'secret_access_key=short'],
  },
  {
    detector: 'github_token',
    finds: ['ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', 'token ⟦gho_16C7e42F292c6912E7710c838347Ae178B4a⟧!', '⟦github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012⟧'],
    ignores: ['ghp_short', 'ghx_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', 'xghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'],
  },
  {
    detector: 'gitlab_token',
    finds: ['glpat-xxxxxxxxxxxxxxxxxxxx', 'use ⟦glpat-Ab1_cD2-eF3gH4iJ5kL6⟧.', '⟦glrt-abcdefghijklmnopqrstuv⟧'],
    ignores: ['glpat-short', 'xglpat-xxxxxxxxxxxxxxxxxxxx', 'glxyz-xxxxxxxxxxxxxxxxxxxx'],
  },
  {
    detector: 'slack_token',
    finds: [
      'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
      'p=⟦xoxp-1234-5678-abcdefgh⟧ ok',
      'url ⟦https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX⟧ end',
      '⟦xapp-1-A0123456789-1234567890123-abcdef0123⟧',
    ],
    ignores: ['xoxz-123456789012-1234', 'xoxb-123', 'https://hooks.slack.com/', 'https://example.com/services/T0/B0/X'],
  },
  {
    detector: 'private_key',
    finds: [
      `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY.join('\n')}\n-----END RSA PRIVATE KEY-----`,
      `{"key":"⟦-----BEGIN PRIVATE KEY-----\\n${PEM_BODY.join('\\n')}\\n-----END PRIVATE KEY-----⟧\\n"}`,
      `x ⟦-----BEGIN ENCRYPTED PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: AES-128-CBC,ABCDEF\r\n\r\n${PEM_BODY[0]!}\r\n-----END ENCRYPTED PRIVATE KEY-----⟧ y`,
      `⟦-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY[1]!}\n-----END OPENSSH PRIVATE KEY-----⟧`,
    ],
    ignores: [
      `-----BEGIN PUBLIC KEY-----\n${PEM_BODY[0]!}\n-----END PUBLIC KEY-----`,
      `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY[0]!}\n-----END EC PRIVATE KEY-----`,
      `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY[0]!}`,
      `{"key":"-----BEGIN PRIVATE KEY-----\\n${PEM_BODY[0]!}", "x": "-----END PRIVATE KEY-----"}`,
    ],
  },
  {
    detector: 'keyed_secret',
    finds: [
      'password=⟦Xk9#mQ2vLp⟧',
      'passwd: ⟦s3cr3t-v4lue⟧',
      'pwd=⟦Tr0ub4dor&3⟧'.replace('&3', ''),
      '{"api_key": "⟦sk_live_4eC39HqLyjWDarjtT1zdp7dc⟧"}',
      "'client_secret' => '⟦9f8e7d6c5b4a39281706⟧'",
      'DB_PASSWORD=⟦Password1⟧',
      'url?access_token=⟦abcDEF123456⟧&page=2',
      'Authorization: Bearer ⟦0123456789abcdefXYZ⟧',
      'secret: "⟦correct horse battery staple⟧"',
      'apikey:⟦AbCdEfGh12345⟧',
      'token => ⟦qwertyuiop0987⟧',
      '{\\"password\\":\\"⟦Xk9#mQ2vLp⟧\\"}',
    ],
    ignores: [
      'password=changeme',
      'password=hunter2',
      'password: <redacted>',
      'token=null',
      'token=true',
      'token=false',
      'password: ********',
      'password=${DB_PASSWORD}',
      'password = getPassword()',
      'password_hint=remember-the-dog',
      'passwordless login',
      'max_tokens: 100000000',
      'secret: [hidden]',
      '"password": ""',
      'password: undefined',
    ],
  },
];

/** The marked part of a case text: between ⟦ and ⟧, or the whole text. */
function expected(text: string): { text: string; match: string } {
  const open = text.indexOf('⟦');
  if (open < 0) return { text, match: text };
  const close = text.indexOf('⟧');
  return { text: text.slice(0, open) + text.slice(open + 1, close) + text.slice(close + 1), match: text.slice(open + 1, close) };
}

describe('built-in detectors', () => {
  it('has one detector per configured name, named after it', () => {
    for (const name of DETECTOR_NAMES) expect(builtinDetector(name).name).toBe(name);
    expect(isDetectorName('email')).toBe(true);
    expect(isDetectorName('mail')).toBe(false);
  });

  for (const c of CASES) {
    describe(c.detector, () => {
      it.each(c.finds.map((t) => [t]))('finds the sensitive part of %j', (raw) => {
        const { text, match } = expected(raw);
        expect(found(c.detector, text)).toEqual([match]);
      });
      it.each(c.ignores.map((t) => [t]))('ignores %j', (text) => {
        expect(found(c.detector, text)).toEqual([]);
      });
    });
  }

  it('finds every occurrence, not only the first', () => {
    expect(found('email', 'a@example.com, b@example.org; c@example.net')).toEqual(['a@example.com', 'b@example.org', 'c@example.net']);
    expect(found('card', '4242424242424242 and 5555555555554444')).toEqual(['4242424242424242', '5555555555554444']);
    expect(found('ipv4', '10.0.0.1 10.0.0.2')).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('keeps the key name, quotes and separators out of a keyed secret', () => {
    expect(found('keyed_secret', 'password="p@ss\\"word99"')).toEqual(['p@ss', 'word99']);
  });

  it('masks a whole PEM block stored under a key name', () => {
    const text = `private_key: -----BEGIN EC PRIVATE KEY-----\n${PEM_BODY[0]!}\n-----END EC PRIVATE KEY-----`;
    expect(found('keyed_secret', text)).toEqual([text.slice('private_key: '.length)]);
  });

  it('never returns a match holding a quote, a backslash or a control character outside a PEM block', () => {
    const text = CASES.flatMap((c) => c.finds.map((f) => expected(f).text)).join('\n');
    for (const name of DETECTOR_NAMES) {
      if (name === 'private_key') continue;
      for (const m of found(name, text)) expect([...m].some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 0x20), m).toBe(false);
    }
  });

  it('terminates with well-formed matches on random text made of the characters detectors look at', () => {
    const fragments = ['0', '1', '42', '415', '4242', '2024', '-', '1-', '+', '+1 ', '(', ')', ' ', '.', ':', '::', '@', 'a', 'Z', 'x.com', '=', '=>', '"', "'", '\\', '\\n', '\n', '\t',
      'password', 'token', 'ssn', 'eyJ', 'yJ', 'AKIA', 'ghp_', 'github_pat_', 'glpat-', 'xoxb-', 'https://hooks.slack.com/services/', '-----BEGIN ', 'PRIVATE KEY-----', '-----END ', 'DE89', 'fe80', '%eth0'];
    let seed = 1;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (let n = 0; n < 3_000; n++) {
      const text = Array.from({ length: 40 }, () => fragments[Math.floor(next() * fragments.length)]!).join('');
      for (const name of DETECTOR_NAMES) {
        const out: DetectorMatch[] = [];
        builtinDetector(name).find(text, out);
        for (const m of out) {
          expect(m.start).toBeGreaterThanOrEqual(0);
          expect(m.end).toBeGreaterThan(m.start);
          expect(m.end).toBeLessThanOrEqual(text.length);
          const match = text.slice(m.start, m.end);
          // eslint-disable-next-line no-control-regex -- control characters are what it looks for
          if (name !== 'private_key') expect(match).not.toMatch(/["\\\u0000-\u001f]/);
        }
      }
    }
  });

  it('scans long text without an anchor in linear time', () => {
    const long = `${'a'.repeat(200_000)} ${'1'.repeat(200_000)} ${':'.repeat(100_000)} ${'-----BEGIN PRIVATE KEY-----A'.repeat(5_000)} ${'password='.repeat(20_000)}`;
    const started = performance.now();
    for (const name of DETECTOR_NAMES) found(name, long);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
