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

  it('reads `derived` on column rules and refuses it on content rules', () => {
    const config = parse(['masking:', '  - { name: ssn, columns: [public.users.ssn], strategy: hash, derived: approve }']);
    expect(config.masking[0]!.derived).toBe('approve');
    expect(
      problems([
        'masking:',
        '  - { name: a, detect: email, strategy: redact, derived: deny }',
        '  - { name: b, columns: [public.users.ssn], strategy: redact, derived: allow }',
      ]),
    ).toEqual(['2: masking[0].derived: only applies to column rules (`columns`): content rules see every value anyway', '3: masking[1].derived: must be deny, approve or detectors']);
  });
});

describe('limits config', () => {
  it('reads top-level limits, scoped rules and full-scan tables, with sizes in units', () => {
    const config = parse([
      'limits:',
      '  rows_per_statement: 10000',
      '  bytes_per_session: 50MB',
      '  on_exceed: approve',
      '  full_scan_tables: [public.users, "billing.*"]',
      '  rules:',
      '    - { name: ci, groups: [ci], rows_per_statement: 1000, bytes_per_statement: 1MiB, statements_per_minute: 600, on_exceed: deny }',
    ]);
    expect(config.limits).toEqual({
      rows_per_statement: 10_000,
      bytes_per_session: 50_000_000,
      on_exceed: 'approve',
      full_scan_tables: ['public.users', 'billing.*'],
      rules: [{ name: 'ci', groups: ['ci'], rows_per_statement: 1000, bytes_per_statement: 1_048_576, statements_per_minute: 600, on_exceed: 'deny' }],
    });
    expect(parse([]).limits).toEqual({ full_scan_tables: [], rules: [] });
  });

  it('says which limit is wrong, and why', () => {
    expect(
      problems([
        'limits:',
        '  rows_per_statement: 0',
        '  on_exceed: stop',
        '  full_scan_tables: [users]',
        '  rules:',
        '    - { name: x, rows_per_statement: 5 }',
        '    - { name: x, groups: [ci], statements_per_minute: 1.5 }',
      ]),
    ).toEqual([
      '2: limits.rows_per_statement: must be a positive number of rows',
      '3: limits.on_exceed: must be deny or approve',
      '4: limits.full_scan_tables[0]: must be schema-qualified (schema.table; `*` globs like public.* or *.users)',
      '6: limits.rules[0]: needs `groups` or `except_groups` to say whom it limits (limits for everyone go at the top of `limits`)',
      expect.stringMatching(/^7: limits\.rules\[1\]\.statements_per_minute: /),
      '7: limits.rules[1].name: limit rule "x" is defined twice; names must be unique',
    ]);
  });
});
