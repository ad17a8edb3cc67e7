import { describe, expect, it } from 'vitest';
import type { MaskingRuleConfig } from '../../../proxy/config/schema.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';
import { TextStreamMasker } from '../../../proxy/masking/text-stream-masker.js';

const content = new MaskingRules(
  [
    { name: 'emails', detect: 'email', strategy: 'partial' },
    { name: 'cards', detect: 'card', strategy: 'redact' },
    { name: 'keys', detect: 'private_key', strategy: 'redact' },
  ] as MaskingRuleConfig[],
  Buffer.alloc(32, 1),
).profileFor([]).content;

function run(input: Buffer, size: number, options: { maxLine?: number; encoding?: 'utf8' | 'latin1' } = {}): string {
  const masker = new TextStreamMasker({ content, hits: new Map(), encoding: options.encoding ?? 'utf8', ...(options.maxLine ? { maxLine: options.maxLine } : {}) });
  const out: Buffer[] = [];
  for (let at = 0; at < input.length; at += size) out.push(...masker.write(input.subarray(at, at + size)));
  out.push(...masker.end());
  return Buffer.concat(out).toString(options.encoding ?? 'utf8');
}

const TEXT = [
  'Dear ada@example.com, your card 4111 1111 1111 1111 was charged.',
  'é ü — unicode around bob@example.org',
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu',
  'KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm',
  '-----END RSA PRIVATE KEY-----',
  'done',
].join('\n');

describe('the streaming text masker', () => {
  it('masks values split across chunks, PEM blocks across lines, the same at every cut', () => {
    const input = Buffer.from(TEXT);
    const whole = run(input, input.length);
    expect(whole).toBe('Dear ****@example.com, your card [redacted:card] was charged.\né ü — unicode around ****@example.org\n[redacted:private_key]\ndone');
    for (let size = 1; size < input.length; size++) expect(run(input, size), `chunks of ${size}`).toBe(whole);
  });

  it('keeps the bytes of text it does not change, invalid UTF-8 included', () => {
    const bytes = Buffer.concat([Buffer.from('plain '), Buffer.from([0xff, 0xfe]), Buffer.from(' text\n')]);
    const masker = new TextStreamMasker({ content, hits: new Map(), encoding: 'utf8' });
    expect(Buffer.concat([...masker.write(bytes), ...masker.end()])).toEqual(bytes);
  });

  it('reads Latin-1 byte for byte', () => {
    const bytes = Buffer.from('caf\xe9 mail ada@example.com\n', 'latin1');
    expect(run(bytes, 3, { encoding: 'latin1' })).toBe('caf\xe9 mail ****@example.com\n');
  });

  it('cuts a line longer than maxLine after its last space', () => {
    const line = `${'word '.repeat(40)}ada@example.com ${'word '.repeat(40)}`;
    expect(run(Buffer.from(line), 16, { maxLine: 64 })).toBe(line.replace('ada@example.com', '****@example.com'));
  });
});
