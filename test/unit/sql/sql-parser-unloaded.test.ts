import { describe, expect, it } from 'vitest';
import { SqlClassifier } from '../../../proxy/sql/sql-classifier.js';
import { parseStatements } from '../../../proxy/sql/sql-parser.js';

// A file of its own: vitest gives each test file fresh modules, so the parser is not loaded here.
describe('before loadSqlParser()', () => {
  it('refuses to parse or classify, saying what to do', () => {
    expect(() => parseStatements('SELECT 1')).toThrow(/await loadSqlParser\(\)/);
    expect(() => new SqlClassifier().classify('SELECT 1', { searchPath: 'public', user: 'u' })).toThrow(/await loadSqlParser\(\)/);
  });
});
