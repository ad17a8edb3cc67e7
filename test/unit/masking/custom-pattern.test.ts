import { describe, expect, it } from 'vitest';
import { compileCustomPattern, patternProblem } from '../../../proxy/masking/custom-pattern.js';
import type { DetectorMatch } from '../../../proxy/masking/masking-types.js';

function found(pattern: string, text: string): string[] {
  const out: DetectorMatch[] = [];
  compileCustomPattern(pattern).find(text, out);
  for (const m of out) expect(m.detector).toBe('custom');
  return out.map((m) => text.slice(m.start, m.end));
}

describe('custom patterns', () => {
  it('finds every match of a valid pattern, named custom', () => {
    expect(compileCustomPattern('EMP-\\d{6}').name).toBe('custom');
    expect(found('EMP-\\d{6}', 'EMP-123456, EMP-1234, emp-654321 EMP-000001')).toEqual(['EMP-123456', 'EMP-000001']);
    expect(found('(?i)emp-\\d{6}', 'EMP-123456 emp-654321')).toEqual(['EMP-123456', 'emp-654321']);
    expect(found('\\bproj-[a-z]+\\b', 'proj-alpha subproj-beta proj-gamma')).toEqual(['proj-alpha', 'proj-gamma']);
  });

  it('reports UTF-16 offsets when the text has characters outside the BMP', () => {
    const text = '😀 id=AB12 🎉🎉 id=CD34 é id=EF56';
    const out: DetectorMatch[] = [];
    compileCustomPattern('id=[A-Z]{2}\\d\\d').find(text, out);
    expect(out.map((m) => text.slice(m.start, m.end))).toEqual(['id=AB12', 'id=CD34', 'id=EF56']);
    expect(found('🎉+', text)).toEqual(['🎉🎉']);
  });

  it('rejects an invalid pattern with RE2 reason', () => {
    expect(() => compileCustomPattern('(unclosed')).toThrow(/invalid masking pattern "\(unclosed": missing \)/);
    expect(patternProblem('(unclosed')).toMatch(/missing \)/);
    expect(patternProblem('a(?=b)')).toMatch(/invalid perl operator|lookaround/);
    expect(patternProblem('(a)\\1')).toMatch(/invalid escape|backreferences/);
    expect(patternProblem('EMP-\\d{6}')).toBeUndefined();
  });

  it('rejects a pattern that matches the empty string', () => {
    for (const pattern of ['x*', 'a|', '\\b', '^', '(?:)']) {
      expect(patternProblem(pattern)).toMatch(/matches the empty string/);
    }
  });

  it('leaves quotes, backslashes and control characters out of a match', () => {
    expect(found('secret\\S*', 'x secret"abc\\def y')).toEqual(['secret', 'abc', 'def']);
    expect(found('a.+b', 'a\tb')).toEqual(['a', 'b']);
  });

  it('runs a pathological pattern over a long input in linear time', () => {
    const text = `${'a'.repeat(30_000)}b`;
    expect(found('(a+)+$', text)).toEqual([]);
    expect(found('(a|aa)+c', text)).toEqual([]);
    expect(found('(a+)+b$', text.slice(-500))).toEqual([text.slice(-500)]);
  });

  it('finds matches across the windows it searches long text in', () => {
    const text = Array.from({ length: 2_000 }, (_, i) => `row ${i} EMP-${String(i).padStart(6, '0')};`).join(' ');
    const ids = found('EMP-\\d{6}', text);
    expect(ids).toHaveLength(2_000);
    expect(ids[1_999]).toBe('EMP-001999');
    // A match longer than a window's overlap still comes out whole.
    const long = `${'x'.repeat(4_000)} ${'y'.repeat(2_000)} ${'x'.repeat(9_000)}`;
    expect(found('y+', long)).toEqual(['y'.repeat(2_000)]);
    // Anchors and word boundaries see the real neighbours, not a window's edge.
    const words = `${'w'.repeat(3_500)} ${'a'.repeat(2_000)}b ${'c'.repeat(3_000)}`;
    expect(found('\\ba+b\\b', words)).toEqual([`${'a'.repeat(2_000)}b`]);
    expect(found('^w', words)).toEqual(['w']);
    expect(found('c$', words)).toEqual(['c']);
    expect(found('w+$', words)).toEqual([]);
  });
});
