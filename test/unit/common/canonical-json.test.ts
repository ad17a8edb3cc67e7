import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts object keys by UTF-16 code units at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    // Code units, not code points or locale: "\u{1F600}" (a surrogate pair, 0xD83D…) sorts before
    // "\uFB01" although its code point is higher; capitals before lowercase; "10" before "2".
    expect(canonicalJson({ '\uFB01': 1, '\u{1F600}': 2, é: 3, a: 4, B: 5, '2': 6, '10': 7, '': 8 })).toBe(
      '{"":8,"10":7,"2":6,"B":5,"a":4,"é":3,"\u{1F600}":2,"\uFB01":1}',
    );
  });

  it('orders objects with many keys the same way as a plain sort', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7919) % 40}`);
    const object = Object.fromEntries(keys.map((key) => [key, key]));
    expect(canonicalJson(object)).toBe(`{${[...keys].sort().map((key) => `"${key}":"${key}"`).join(',')}}`);
  });

  it('writes numbers as JSON.stringify does', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.1, 0.1 + 0.2, 123456789012345680000, 5e-324, -1.5, 2 ** 53])).toBe(
      '[1e+21,1e-7,0,0.1,0.30000000000000004,123456789012345680000,5e-324,-1.5,9007199254740992]',
    );
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson({ n: -0 })).toBe('{"n":0}');
  });

  it('writes strings, keys included, exactly as JSON.stringify does, lone surrogates escaped', () => {
    const strings = ['say "hi"', 'back\\slash', 'line\nbreak\r\t', '\u0000\u001f\u007f', 'ünïcödé ✓ \u2028', '\u{1F600}', '\uD800', 'a\uDC00b', '\uDC00\uD800', '</script>'];
    for (const text of strings) {
      expect(canonicalJson(text)).toBe(JSON.stringify(text));
      expect(canonicalJson({ [text]: text })).toBe(`{${JSON.stringify(text)}:${JSON.stringify(text)}}`);
    }
    expect(canonicalJson('\uD800')).toBe('"\\ud800"');
  });

  it('agrees with JSON.stringify on what it drops or replaces, so a stored copy hashes the same', () => {
    const value = { kept: true, gone: undefined, at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), list: [undefined, 1] };
    expect(canonicalJson(value)).toBe('{"at":"2024-01-02T03:04:05.000Z","kept":true,"list":[null,1]}');
    expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
    expect(canonicalJson({ same: { a: 1 }, again: { a: 1 } })).toBe('{"again":{"a":1},"same":{"a":1}}');
  });

  it('is its own fixed point: parsing canonical text and writing it again changes nothing', () => {
    const text = canonicalJson({ z: [1e21, '\uD800', { b: 'é', a: [] }], a: {}, m: 'x\ny' });
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('refuses what JSON cannot hold, naming the value and where it is', () => {
    expect(() => canonicalJson({ rows: [{ score: NaN }] })).toThrow('canonicalJson: the number NaN at $.rows[0].score cannot be written as JSON');
    expect(() => canonicalJson([Infinity])).toThrow('the number Infinity at $[0]');
    expect(() => canonicalJson({ 'odd key': -Infinity })).toThrow('the number -Infinity at $["odd key"]');
    expect(() => canonicalJson({ id: 10n })).toThrow('the BigInt 10n at $.id');
    expect(() => canonicalJson({ run: () => 1 })).toThrow('a function at $.run');
    expect(() => canonicalJson({ tag: Symbol('t') })).toThrow('the symbol t at $.tag');
    expect(() => canonicalJson(undefined)).toThrow('undefined at $');
    const cyclic: Record<string, unknown> = { a: { b: [] } };
    ((cyclic.a as { b: unknown[] }).b).push(cyclic);
    expect(() => canonicalJson(cyclic)).toThrow('a cycle (an object that contains itself) at $.a.b[0]');
  });

  it('writes a 1 KB event payload in a few microseconds', () => {
    const payload = {
      statement: 'SELECT id, email, created_at FROM users WHERE tenant_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 50',
      parameters: ['7f3c1a2e-5b4d-4c8e-9f0a-1b2c3d4e5f60', 'active'],
      classification: { kind: 'select', tables: ['public.users'], writes: false, ddl: false },
      verdict: { action: 'allow', rule: 'ci-read-only', reasons: ['matches read rule', 'no masking needed for this column set'] },
      result: { rows: 50, bytes: 18234, duration_us: 1834, masked_columns: ['email'], command_tag: 'SELECT 50' },
      client: { application: 'psql', address: '10.0.3.17', user: 'ci-job', database: 'app' },
      columns: [{ name: 'id', type: 'uuid', masked: false }, { name: 'email', type: 'text', masked: true }, { name: 'created_at', type: 'timestamptz', masked: false }],
      session: { id: '01HZX3K4M5N6P7Q8R9S0T1V2W3', resource: 'prod-db', protocol: 'postgres', seq: 1042, time: 1700000000000123 },
      notes: 'Ünïcödé ✓ "quoted" \n newline',
      flags: [true, false, null, 1.5, -0, 1e21],
    };
    expect(canonicalJson(payload).length).toBeGreaterThan(900);
    const runs = 20_000;
    for (let i = 0; i < runs; i++) canonicalJson(payload);
    const started = performance.now();
    for (let i = 0; i < runs; i++) canonicalJson(payload);
    const micros = ((performance.now() - started) * 1000) / runs;
    // About 4.5 µs on a quiet machine; the bound is loose so a busy CI runner does not fail it.
    expect(micros).toBeLessThan(50);
  });
});
