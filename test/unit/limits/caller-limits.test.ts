import { describe, expect, it } from 'vitest';
import type { LimitsConfig } from '../../../proxy/config/schema.js';
import { limitSetting, limitsFor, limitsResults } from '../../../proxy/limits/caller-limits.js';

function config(extra: Partial<LimitsConfig> = {}): LimitsConfig {
  return { full_scan_tables: [], rules: [], ...extra };
}

describe('limits for a caller', () => {
  it('gives nothing when no limit is configured or no rule applies', () => {
    expect(limitsFor(config(), ['ci'])).toBeUndefined();
    expect(limitsFor(config({ rules: [{ name: 'ci-export', groups: ['ci'], rows_per_statement: 1000 }] }), ['dba'])).toBeUndefined();
  });

  it('applies the top level to everyone, with "limits" as its source', () => {
    const limits = limitsFor(config({ rows_per_statement: 500, bytes_per_session: 1024 }), []);
    expect(limits).toEqual({ limits: { rows_per_statement: { value: 500, source: 'limits' }, bytes_per_session: { value: 1024, source: 'limits' } }, onExceed: 'deny' });
  });

  it('lets an applying rule beat the top level per limit, even when it is looser', () => {
    const set = config({
      rows_per_statement: 100,
      bytes_per_statement: 5000,
      rules: [{ name: 'ci-export', groups: ['ci'], rows_per_statement: 1_000_000 }],
    });
    expect(limitsFor(set, ['ci'])?.limits).toEqual({ rows_per_statement: { value: 1_000_000, source: 'ci-export' }, bytes_per_statement: { value: 5000, source: 'limits' } });
    expect(limitsFor(set, ['dba'])?.limits.rows_per_statement).toEqual({ value: 100, source: 'limits' });
  });

  it('takes the tightest value among applying rules, per limit, and the first rule on a tie', () => {
    const set = config({
      rules: [
        { name: 'wide', groups: ['ci'], rows_per_statement: 5000, bytes_per_session: 100 },
        { name: 'narrow', groups: ['repo:acme/api'], rows_per_statement: 50, bytes_per_session: 900 },
        { name: 'same', groups: ['ci'], rows_per_statement: 50 },
      ],
    });
    expect(limitsFor(set, ['ci', 'repo:acme/api'])?.limits).toEqual({ rows_per_statement: { value: 50, source: 'narrow' }, bytes_per_session: { value: 100, source: 'wide' } });
  });

  it('leaves out a rule whose except_groups the caller is in', () => {
    const set = config({
      rows_per_statement: 10,
      rules: [{ name: 'not-dba', except_groups: ['dba'], rows_per_statement: 1 }],
    });
    expect(limitsFor(set, ['ci'])?.limits.rows_per_statement?.source).toBe('not-dba');
    expect(limitsFor(set, ['ci', 'dba'])?.limits.rows_per_statement?.source).toBe('limits');
  });

  it('approves past a limit only when every source of a limit in force says approve', () => {
    const approveAll = config({ on_exceed: 'approve', rows_per_statement: 10, rules: [{ name: 'ci', groups: ['ci'], bytes_per_session: 100 }] });
    // A rule without on_exceed takes the top level's.
    expect(limitsFor(approveAll, ['ci'])?.onExceed).toBe('approve');
    const mixed = config({ rows_per_statement: 10, rules: [{ name: 'ci', groups: ['ci'], bytes_per_session: 100, on_exceed: 'approve' }] });
    expect(limitsFor(mixed, ['ci'])?.onExceed).toBe('deny');
    // The top level is no source once a rule beats it on every limit it sets.
    const beaten = config({ rows_per_statement: 10, rules: [{ name: 'ci', groups: ['ci'], rows_per_statement: 5, on_exceed: 'approve' }] });
    expect(limitsFor(beaten, ['ci'])?.onExceed).toBe('approve');
    const unset = config({ rules: [{ name: 'ci', groups: ['ci'], rows_per_statement: 5 }] });
    expect(limitsFor(unset, ['ci'])?.onExceed).toBe('deny');
  });

  it('keeps statements_per_minute, and says whether any limit concerns results', () => {
    const rateOnly = limitsFor(config({ statements_per_minute: 60 }), ['ci'])!;
    expect(rateOnly.limits.statements_per_minute).toEqual({ value: 60, source: 'limits' });
    expect(limitsResults(rateOnly)).toBe(false);
    expect(limitsResults(limitsFor(config({ bytes_per_statement: 1 }), [])!)).toBe(true);
  });

  it('resolves each group set once, whatever the order of the groups', () => {
    const set = config({ rules: [{ name: 'ci', groups: ['ci'], rows_per_statement: 5 }] });
    expect(limitsFor(set, ['ci', 'b'])).toBe(limitsFor(set, ['b', 'ci']));
    expect(limitsFor(set, ['ci'])).not.toBe(limitsFor(set, ['ci', 'b']));
  });

  it('names the setting an administrator would change', () => {
    expect(limitSetting('rows_per_statement', 'ci-export')).toBe('limits.rules[ci-export].rows_per_statement');
    expect(limitSetting('bytes_per_session', 'limits')).toBe('limits.bytes_per_session');
  });
});
