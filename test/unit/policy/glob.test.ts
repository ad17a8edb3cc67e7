import { describe, expect, it } from 'vitest';
import { compileMatcher } from '../../../proxy/policy/glob.js';

describe('compiled globs', () => {
  it('matches exact entries and `*` as any run of characters, everything else literally', () => {
    const matches = compileMatcher(['public.users', 'audit.*', '*.secrets', 'a+b(c)?.[x]']);
    expect(['public.users', 'audit.log', 'audit.', 'crm.secrets', 'a+b(c)?.[x]'].map(matches)).toEqual([true, true, true, true, true]);
    expect(['public.userz', 'public.users2', 'xaudit.log', 'crm.secrets.x', 'aab(c)x.[x]', 'Public.users'].map(matches)).toEqual([false, false, false, false, false, false]);
  });

  it('matches everything for a lone `*`, nothing for an empty list, and folds case only when asked', () => {
    expect(compileMatcher(['*'])('anything\nat all')).toBe(true);
    expect(compileMatcher([])('x')).toBe(false);
    const folded = compileMatcher(['public.Users', 'Audit.*'], { ignoreCase: true });
    expect(['public.users', 'PUBLIC.USERS', 'audit.Log'].map(folded)).toEqual([true, true, true]);
  });
});
