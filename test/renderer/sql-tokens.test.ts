import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash, type Route } from '../../renderer/src/app/routes.js';
import { sqlTokens } from '../../renderer/src/ui/sql-tokens.js';
import { prng } from '../helpers/prng.js';

describe('SQL highlighting', () => {
  it('gives back every character of any input, in order', () => {
    const random = prng(7);
    const alphabet = "SELECT x FROM t WHERE a = 'it''s' -- c\n/* b */ $1 $$body$$ \"Q\"\"x\" 1.5e3 E'\\n' \u00e9\u{1F600}\t;:=<>|";
    for (let i = 0; i < 2_000; i++) {
      const length = Math.floor(random() * 60);
      let text = '';
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      expect(sqlTokens(text).map((token) => token.text).join('')).toBe(text);
    }
  });

  it('marks keywords, strings, comments, numbers and parameters', () => {
    const kinds = (sql: string) => sqlTokens(sql).filter((token) => token.kind !== 'space').map((token) => `${token.kind}:${token.text}`);
    expect(kinds("DELETE FROM users WHERE id = $1 -- why")).toEqual(['keyword:DELETE', 'keyword:FROM', 'identifier:users', 'keyword:WHERE', 'identifier:id', 'operator:=', 'param:$1', 'comment:-- why']);
    expect(kinds("select 'a''b', 42, \"Weird\"\"Name\"")).toEqual(['keyword:select', "string:'a''b'", 'other:,', 'number:42', 'other:,', 'quoted:"Weird""Name"']);
    // A keyword inside a string or a dollar-quoted body is not highlighted as one.
    expect(kinds("select 'drop table x'")).toEqual(['keyword:select', "string:'drop table x'"]);
    expect(kinds('do $$ begin drop table t; end $$')).toEqual(['keyword:do', 'string:$$ begin drop table t; end $$']);
  });

  it('keeps an unterminated string or comment to the end rather than losing it', () => {
    expect(sqlTokens("select 'open").at(-1)).toEqual({ kind: 'string', text: "'open" });
    expect(sqlTokens('select /* open').at(-1)).toEqual({ kind: 'comment', text: '/* open' });
  });
});

describe('console routes', () => {
  it('round-trips every screen through the hash', () => {
    const routes: Route[] = [
      { screen: 'approvals' },
      { screen: 'approvals', id: '01J/with slash' },
      { screen: 'sessions', query: { resource: 'app db', had: 'denial' } },
      { screen: 'replay', id: '01HX', seq: 12 },
      { screen: 'masking' },
      { screen: 'policy' },
      { screen: 'bundle' },
    ];
    for (const route of routes) expect(parseRoute(routeHash(route))).toEqual(route);
  });

  it('knows no route for an unknown hash, so the console picks the first screen the caller may use', () => {
    expect(parseRoute('')).toBeUndefined();
    expect(parseRoute('#/nowhere')).toBeUndefined();
    expect(parseRoute('#/sessions/01HX?seq=zero')).toEqual({ screen: 'replay', id: '01HX' });
  });
});
