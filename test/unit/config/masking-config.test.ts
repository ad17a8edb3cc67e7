import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../proxy/config/load-config.js';

function parse(lines: readonly string[]) {
  return parseConfig(lines.join('\n'), { file: '/x/sluice.yaml', env: {} }).config;
}

function problems(lines: readonly string[]): string[] {
  try {
    parse(lines);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.line}: ${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('masking config', () => {
  it('reads column rules, detector lists, RE2 patterns, options, result samples and a bare `strategy: null`', () => {
    const config = parse([
      'masking:',
      '  - { name: ssn, columns: [public.users.ssn, "billing.*.ssn"], strategy: null }',
      '  - { name: pii, detect: [email, card], strategy: redact, replacement: "[pii]" }',
      '  - { name: one, detect: iban, strategy: partial, keep_last: 2, groups: [dba] }',
      "  - { name: refs, pattern: 'ORD-[0-9]{8}', strategy: hash, except_groups: [support] }",
      'audit: { result_sample: { rows: 5, bytes: 4KiB } }',
    ]);
    expect(config.masking.map((rule) => rule.strategy)).toEqual(['null', 'redact', 'partial', 'hash']);
    expect(config.masking[1]!.detect).toEqual(['email', 'card']);
    expect(config.audit.result_sample).toEqual({ rows: 5, bytes: 4096 });
  });

  it('defaults the result sample to 3 rows and 2KB', () => {
    expect(parse([]).audit.result_sample).toEqual({ rows: 3, bytes: 2048 });
  });

  it('says which rule and field is wrong, and why', () => {
    expect(
      problems([
        'masking:',
        '  - { name: a, detect: emails, strategy: redact }',
        "  - { name: b, pattern: '(unclosed', strategy: redact }",
        '  - { name: c, columns: [users.ssn], strategy: redact }',
        '  - { name: d, columns: [public.users.ssn], detect: email, strategy: redact }',
        '  - { name: e, detect: email, strategy: hash, replacement: x, keep_last: 2 }',
        '  - { name: f, detect: email, strategy: redact, replacement: "\\"quoted\\"" }',
        '  - { name: g, strategy: scramble }',
        '  - { name: a, detect: email, strategy: redact }',
      ]),
    ).toEqual([
      expect.stringMatching(/^2: masking\[0\]\.detect: unknown detector "emails"; built-in detectors: email, phone, card/),
      expect.stringMatching(/^3: masking\[1\]\.pattern: invalid masking pattern "\(unclosed": missing \)/),
      '4: masking[2].columns[0]: must be schema.table.column (`*` globs like billing.*.card_number)',
      '5: masking[3].columns: a rule masks either source columns (`columns`) or content anywhere (`detect` / `pattern`), not both; write two rules',
      '6: masking[4].replacement: only applies to strategy redact',
      '6: masking[4].keep_last: only applies to strategy partial',
      expect.stringMatching(/^7: masking\[5\]\.replacement: must be at most 64/),
      '8: masking[6].strategy: must be one of redact, partial, hash, null, fake',
      '9: masking[7].name: masking rule "a" is defined twice; names must be unique',
    ]);
  });
});
