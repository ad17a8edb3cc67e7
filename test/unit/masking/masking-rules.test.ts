import { describe, expect, it } from 'vitest';
import { maskingRulesSchema } from '../../../proxy/config/schema.js';
import type { ColumnOrigin } from '../../../proxy/masking/catalog-types.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';

const KEY = Buffer.alloc(32, 3);

function rules(config: unknown[]): MaskingRules {
  return new MaskingRules(maskingRulesSchema.parse(config), KEY);
}

const column = (name: string): ColumnOrigin => {
  const [schema, table, col] = name.split('.') as [string, string, string];
  return { sources: [{ schema, table, column: col }], derived: false };
};

describe('masking rules for a caller', () => {
  const set = rules([
    { name: 'ssn', columns: ['public.users.ssn'], strategy: 'hash' },
    { name: 'ssn-dba', columns: ['public.users.ssn'], strategy: 'partial', groups: ['dba'] },
    { name: 'ssn-null', columns: ['public.users.ssn'], strategy: 'null' },
    { name: 'cards', columns: ['billing.*.card_number'], strategy: 'partial' },
    { name: 'emails', columns: ['public.users.email'], strategy: 'partial' },
    { name: 'no-support', detect: 'email', strategy: 'redact', except_groups: ['support'] },
  ]);

  it('lets a rule scoped to the caller beat unscoped ones, and otherwise the most restrictive win', () => {
    expect(set.profileFor(['ci']).columnAction(column('public.users.ssn'))?.rule).toBe('ssn-null');
    expect(set.profileFor(['dba']).columnAction(column('public.users.ssn'))?.rule).toBe('ssn-dba');
    expect(set.profileFor(['dba']).columnAction(column('public.users.ssn'))!.apply('123-45-6789')).toMatch(/^\*\*\*-\*\*-6789$/);
  });

  it('matches column globs case-insensitively, and nothing else', () => {
    const profile = set.profileFor([]);
    expect(profile.columnAction(column('billing.invoices.card_number'))?.rule).toBe('cards');
    expect(profile.columnAction(column('BILLING.Refunds.CARD_NUMBER'))?.rule).toBe('cards');
    expect(profile.columnAction(column('public.users.name'))).toBeUndefined();
  });

  it('takes the most restrictive rule of every source a view column reads', () => {
    const origin: ColumnOrigin = { sources: [...column('public.users.email').sources, ...column('public.users.ssn').sources], derived: true };
    expect(set.profileFor(['ci']).columnAction(origin)?.strategy).toBe('null');
  });

  it('keeps an email column partial in its own shape: the domain stays', () => {
    expect(set.profileFor([]).columnAction(column('public.users.email'))!.apply('ada.lovelace@example.com')).toMatch(/^\*+@example\.com$/);
  });

  it('leaves out content rules for excepted groups, and says when nothing applies', () => {
    expect(set.profileFor(['ci']).content.empty).toBe(false);
    expect(set.profileFor(['support']).content.empty).toBe(true);
    expect(rules([{ name: 'x', columns: ['a.b.c'], strategy: 'redact', groups: ['dba'] }]).profileFor(['ci']).empty).toBe(true);
  });
});
