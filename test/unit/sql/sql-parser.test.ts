import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, parseStatements, preparedQueryText, trimStatement } from '../../../proxy/sql/sql-parser.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('parseStatements', () => {
  it('loads once: later calls return the same promise', () => {
    expect(loadSqlParser()).toBe(loadSqlParser());
  });

  it('returns each statement with its parse tree and its own text', () => {
    const parsed = parseStatements('SELECT 1;\nUPDATE t SET a = 2 WHERE b;');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.statements.map((statement) => statement.text)).toEqual(['SELECT 1', 'UPDATE t SET a = 2 WHERE b']);
    expect(Object.keys(parsed.statements[1]!.node)).toEqual(['UpdateStmt']);
  });

  it('cuts by UTF-8 byte offsets', () => {
    const parsed = parseStatements("SELECT '€'; SELECT 'ø'  ;  SELECT '𝄞'");
    expect(parsed.ok && parsed.statements.map((statement) => statement.text)).toEqual(["SELECT '€'", "SELECT 'ø'", "SELECT '𝄞'"]);
  });

  it('reports a syntax error with the parser message and position', () => {
    expect(parseStatements('SELECT * FRM t')).toEqual({ ok: false, error: 'syntax error at or near "FRM" (position 10)' });
    expect(parseStatements("SELECT 'unterminated")).toMatchObject({ ok: false, error: expect.stringContaining('unterminated quoted string') });
  });

  it('has no statements for empty text or only comments', () => {
    expect(parseStatements('')).toEqual({ ok: true, statements: [] });
    expect(parseStatements('/* c */ -- d')).toEqual({ ok: true, statements: [] });
  });
});

describe('statement text helpers', () => {
  it('trims whitespace and semicolons, not comments', () => {
    expect(trimStatement(' \n;SELECT 1 -- c\n;; ')).toBe('SELECT 1 -- c');
  });

  it('finds what PREPARE prepares after its AS keyword', () => {
    expect(preparedQueryText('PREPARE p (int, "as") AS SELECT $1 AS x')).toBe('SELECT $1 AS x');
    expect(preparedQueryText("PREPARE é AS SELECT 'ü'")).toBe("SELECT 'ü'");
  });
});
