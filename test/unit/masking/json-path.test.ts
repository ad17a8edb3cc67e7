import { describe, expect, it } from 'vitest';
import { formatPath, jsonPathProblem, parseJsonPath, PathSet, type PathStep } from '../../../proxy/masking/json-path.js';

/** The indexes of the paths matching the node reached by `steps`. */
function matches(set: PathSet, steps: readonly PathStep[]): readonly number[] {
  let states = set.root;
  for (const step of steps) states = set.step(states, step);
  return states.matched;
}

describe('JSON paths', () => {
  it('parses member names, quoted names, indexes, wildcards and descendants', () => {
    expect(parseJsonPath('$.customers[*].email').segments).toEqual([
      { descendant: false, selector: { kind: 'name', name: 'customers' } },
      { descendant: false, selector: { kind: 'wild' } },
      { descendant: false, selector: { kind: 'name', name: 'email' } },
    ]);
    expect(parseJsonPath("$['odd key'][\"x\\\"y\"][12]..id.*").segments).toEqual([
      { descendant: false, selector: { kind: 'name', name: 'odd key' } },
      { descendant: false, selector: { kind: 'name', name: 'x"y' } },
      { descendant: false, selector: { kind: 'index', index: 12 } },
      { descendant: true, selector: { kind: 'name', name: 'id' } },
      { descendant: false, selector: { kind: 'wild' } },
    ]);
    expect(parseJsonPath('$').segments).toEqual([]);
    expect(parseJsonPath('$..[*]').segments).toEqual([{ descendant: true, selector: { kind: 'wild' } }]);
  });

  it('refuses what it does not support, saying where', () => {
    expect(jsonPathProblem('customers.email')).toBe('must start with "$" (e.g. "$.customers[*].email")');
    expect(jsonPathProblem('$.a[?(@.x)]')).toMatch(/expected 'name', an index or \* inside \[ \] at character 5 of/);
    expect(jsonPathProblem('$.a[0:2]')).toMatch(/expected "\]" at character 6/);
    expect(jsonPathProblem('$.a[01]')).toMatch(/leading zeros/);
    expect(jsonPathProblem("$['open")).toMatch(/unterminated quoted name/);
    expect(jsonPathProblem('$.')).toMatch(/expected a member name/);
    expect(jsonPathProblem('$a')).toMatch(/unexpected "a"/);
    expect(jsonPathProblem(`$${'.a'.repeat(300)}`)).toMatch(/longer than 512/);
    expect(jsonPathProblem('$.a-b._c$')).toBeUndefined();
  });

  it('formats concrete locations as canonical paths', () => {
    expect(formatPath(['refund', 'items', 0, 'sku'])).toBe('$.refund.items[0].sku');
    expect(formatPath(['odd key', "it's", '1x'])).toBe("$['odd key']['it\\'s']['1x']");
    expect(formatPath([])).toBe('$');
  });

  it('matches nodes step by step', () => {
    const set = new PathSet(['$.customers[*].email', '$..ssn', '$.meta.*', '$.items[1]', '$'].map(parseJsonPath));
    expect(matches(set, [])).toEqual([4]);
    expect(matches(set, ['customers', 3, 'email'])).toEqual([0]);
    expect(matches(set, ['customers', 'x', 'email'])).toEqual([0]);
    expect(matches(set, ['customers', 3, 'name'])).toEqual([]);
    expect(matches(set, ['customers', 3, 'email', 'x'])).toEqual([]);
    expect(matches(set, ['ssn'])).toEqual([1]);
    expect(matches(set, ['a', 2, 'b', 'ssn'])).toEqual([1]);
    expect(matches(set, ['meta', 'anything'])).toEqual([2]);
    expect(matches(set, ['items', 1])).toEqual([3]);
    expect(matches(set, ['items', 2])).toEqual([]);
    // A node below one matched by `..ssn` that is itself named ssn matches again.
    expect(matches(set, ['ssn', 'ssn'])).toEqual([1]);
  });

  it('compares member names ignoring case when asked (deny rules)', () => {
    const exact = new PathSet([parseJsonPath('$.Role')]);
    const folded = new PathSet([parseJsonPath('$.Role')], { ignoreCase: true });
    expect(matches(exact, ['role'])).toEqual([]);
    expect(matches(folded, ['role'])).toEqual([0]);
    expect(matches(folded, ['ROLE'])).toEqual([0]);
  });
});
