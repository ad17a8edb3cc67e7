import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinShape } from '../../../proxy/masking/builtin-types.js';
import { maskCell } from '../../../proxy/masking/cell-masker.js';
import type { CellAction, ColumnAction, ContentMasker, MaskingHits, ValueShape } from '../../../proxy/masking/masking-types.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { rawPostgres, type RawPostgres } from '../postgres/raw-postgres.js';
import { atWords, oneCell } from './masking-fixtures.js';

// maskCell over cells the suite's PostgreSQL really sends, in both formats, with the masked
// bytes sent back to it: a value PostgreSQL cannot read back is one a driver could not either.

let postgres: RawPostgres;
const cell = (text: string, values: (string | Buffer | null)[] = [], binary = false) => oneCell(postgres, text, values, binary);
beforeAll(async () => {
  postgres = await rawPostgres();
});
afterAll(() => {
  postgres?.close();
});



/** What PostgreSQL makes of `value` (text, or binary bytes) as `type`, in text format. */
async function readBack(value: Buffer | null, type: string, format: 0 | 1): Promise<string | null> {
  const sent = value === null ? null : format === 0 ? value.toString('utf8') : value;
  return (await cell(`SELECT $1::${type}`, [sent]))?.toString('utf8') ?? null;
}


/** A null-strategy rule: any `@` makes the cell NULL. */
const dropAt: ContentMasker = {
  empty: false,
  mask(text, hits) {
    if (!text.includes('@')) return undefined;
    hits.set('drop', (hits.get('drop') ?? 0) + 1);
    return null;
  },
};

const untouchable: ContentMasker = {
  empty: true,
  mask() {
    throw new Error('an empty masker is never asked');
  },
};

const hide: ColumnAction = { rule: 'hide', strategy: 'redact', apply: () => '[hidden]', nulls: false, derived: 'deny' };
const upper: ColumnAction = { rule: 'upper', strategy: 'fake', apply: (value) => value.toUpperCase(), nulls: false, derived: 'deny' };
const nothing: ColumnAction = { rule: 'nothing', strategy: 'fake', apply: () => null, nulls: false, derived: 'deny' };
const gone: ColumnAction = {
  rule: 'gone',
  strategy: 'null',
  apply: () => {
    throw new Error('the null strategy needs no value');
  },
  nulls: true,
  derived: 'deny',
};

function shape(typeOid: number): ValueShape {
  return builtinShape(typeOid)!;
}

function run(bytes: Buffer, action: CellAction): { out: Buffer | null | undefined; hits: Record<string, number> } {
  const hits: MaskingHits = new Map();
  const out = maskCell(bytes, action, hits);
  return { out, hits: Object.fromEntries(hits) };
}

describe('text-like cells', () => {
  it.each([
    ['text', 25],
    ['varchar', 1043],
    ['bpchar', 1042],
    ['name', 19],
  ])('masks %s in both formats and changes nothing without a match', async (type, oid) => {
    for (const format of [0, 1] as const) {
      const bytes = (await cell(`SELECT 'to: bob@example.com, ünï 😀'::${type}`, [], format === 1))!;
      const masked = run(bytes, { shape: shape(oid), format, content: atWords });
      expect(masked.out!.toString('utf8')).toBe('to: [email], ünï 😀');
      expect(masked.hits).toEqual({ emails: 1 });
      expect(await readBack(masked.out!, type, format)).toBe('to: [email], ünï 😀');
      const plain = (await cell(`SELECT 'nothing here ünï'::${type}`, [], format === 1))!;
      expect(run(plain, { shape: shape(oid), format, content: atWords })).toEqual({ out: undefined, hits: {} });
    }
  });

  it('makes the cell NULL when a null-strategy detector matches', () => {
    expect(run(Buffer.from('a@b'), { shape: shape(25), format: 0, content: dropAt })).toEqual({ out: null, hits: { drop: 1 } });
  });

  it('never asks an empty content masker', () => {
    expect(run(Buffer.from('a@b'), { shape: shape(25), format: 0, content: untouchable }).out).toBeUndefined();
  });

  it('applies a column rule instead of detectors, one hit per cell', () => {
    const bytes = Buffer.from('bob@example.com');
    expect(run(bytes, { shape: shape(25), format: 1, column: upper, content: dropAt })).toEqual({ out: Buffer.from('BOB@EXAMPLE.COM'), hits: { upper: 1 } });
    expect(run(bytes, { shape: shape(25), format: 0, column: nothing })).toEqual({ out: null, hits: { nothing: 1 } });
    expect(run(Buffer.from('ALREADY'), { shape: shape(25), format: 0, column: upper })).toEqual({ out: undefined, hits: { upper: 1 } });
  });

  it('masks a multi-megabyte cell, and passes one without a match untouched', async () => {
    const bytes = (await cell(`SELECT repeat('lorem ipsum ', 400000) || 'bob@example.com' || repeat(' dolor ünï', 200000)`))!;
    expect(bytes.length).toBeGreaterThan(6_000_000);
    const masked = run(bytes, { shape: shape(25), format: 0, content: atWords });
    expect(masked.hits).toEqual({ emails: 1 });
    expect(masked.out!.length).toBe(bytes.length - 'bob@example.com'.length + '[email]'.length);
    expect(masked.out!.subarray(-20).equals(bytes.subarray(-20))).toBe(true);
    const ascii = (await cell(`SELECT repeat('lorem ipsum ', 400000)`))!;
    expect(run(ascii, { shape: shape(25), format: 1, content: atWords }).out).toBeUndefined();
  });
});

describe('json and jsonb cells', () => {
  const document = `'{"to": "bob@example.com", "cc": ["x y@z.org"], "n": 1}'`;

  it('masks the JSON text of json and jsonb, keeping jsonb binary version byte', async () => {
    for (const [type, oid] of [['json', 114], ['jsonb', 3802]] as const) {
      for (const format of [0, 1] as const) {
        const bytes = (await cell(`SELECT ${document}::${type}`, [], format === 1))!;
        const masked = run(bytes, { shape: shape(oid), format, content: atWords });
        expect(masked.hits).toEqual({ emails: 2 });
        const text = masked.out!.toString('utf8', type === 'jsonb' && format === 1 ? 1 : 0);
        if (type === 'jsonb' && format === 1) expect(masked.out![0]).toBe(1);
        expect(JSON.parse(text)).toEqual({ to: '[email]', cc: ['x [email]'], n: 1 });
        expect(JSON.parse((await readBack(masked.out!, type, format))!)).toEqual({ to: '[email]', cc: ['x [email]'], n: 1 });
      }
    }
  });

  it('turns a column rule output into a JSON string literal', async () => {
    for (const [type, oid] of [['json', 114], ['jsonb', 3802]] as const) {
      for (const format of [0, 1] as const) {
        const bytes = (await cell(`SELECT ${document}::${type}`, [], format === 1))!;
        const quoting: ColumnAction = { rule: 'quote', strategy: 'redact', apply: (value) => `len ${value.length} "q" \\`, nulls: false, derived: 'deny' };
        const masked = run(bytes, { shape: shape(oid), format, column: quoting });
        expect(masked.hits).toEqual({ quote: 1 });
        expect(JSON.parse((await readBack(masked.out!, type, format))!)).toMatch(/^len \d+ "q" \\$/);
      }
    }
  });

  it('refuses a jsonb binary value of an unknown version', () => {
    for (const bytes of [Buffer.from('\x02{}', 'latin1'), Buffer.alloc(0)]) {
      expect(() => run(bytes, { shape: shape(3802), format: 1, content: atWords })).toThrow(ProtocolError);
      expect(() => run(bytes, { shape: shape(3802), format: 1, column: hide })).toThrow(ProtocolError);
    }
  });
});

describe('other cells', () => {
  it('makes any value NULL under a column rule, and leaves it to detectors untouched', async () => {
    for (const sql of [`SELECT 42`, `SELECT now()`, `SELECT '\\xdeadbeef'::bytea`, `SELECT '{1,2}'::int[]`]) {
      for (const format of [0, 1] as const) {
        const bytes = (await cell(sql, [], format === 1))!;
        const oid = sql.includes('int[]') ? 1007 : sql.includes('bytea') ? 17 : sql.includes('now') ? 1184 : 23;
        expect(run(bytes, { shape: shape(oid), format, column: hide })).toEqual({ out: null, hits: { hide: 1 } });
        expect(run(bytes, { shape: shape(oid), format, content: atWords })).toEqual({ out: undefined, hits: {} });
      }
    }
  });

  it('makes any value NULL under the null strategy', () => {
    for (const oid of [25, 114, 3802, 1009, 23]) {
      expect(run(Buffer.from('{}'), { shape: shape(oid), format: 0, column: gone, content: atWords })).toEqual({ out: null, hits: { gone: 1 } });
    }
  });
});

describe('array cells', () => {
  const tags = `SELECT ARRAY['a@b.c', 'plain', NULL, 'x y@z.org', '{odd, "one"}']::text[]`;

  it('masks each element with detectors in both formats', async () => {
    for (const format of [0, 1] as const) {
      const masked = run((await cell(tags, [], format === 1))!, { shape: shape(1009), format, content: atWords });
      expect(masked.hits).toEqual({ emails: 2 });
      expect(await readBack(masked.out!, 'text[]', format)).toBe('{[email],plain,NULL,"x [email]","{odd, \\"one\\"}"}');
    }
  });

  it('makes the whole array NULL when a null-strategy detector matches one element', async () => {
    for (const format of [0, 1] as const) {
      expect(run((await cell(tags, [], format === 1))!, { shape: shape(1009), format, content: dropAt }).out).toBeNull();
    }
  });

  it('applies a column rule to each element, NULL staying NULL, one hit per cell', async () => {
    for (const format of [0, 1] as const) {
      const bytes = (await cell(`SELECT '[0:2]={ab,NULL,"c d"}'::varchar[]`, [], format === 1))!;
      const masked = run(bytes, { shape: shape(1015), format, column: upper });
      expect(masked.hits).toEqual({ upper: 1 });
      expect(await readBack(masked.out!, 'varchar[]', format)).toBe('[0:2]={AB,NULL,"C D"}');
      expect(await readBack(run(bytes, { shape: shape(1015), format, column: nothing }).out!, 'varchar[]', format)).toBe('[0:2]={NULL,NULL,NULL}');
    }
  });

  it('writes each json and jsonb element as a JSON string literal under a column rule', async () => {
    for (const [type, oid] of [['json', 199], ['jsonb', 3807]] as const) {
      for (const format of [0, 1] as const) {
        const bytes = (await cell(`SELECT ARRAY['{"a": 1}', NULL, '[2]']::${type}[]`, [], format === 1))!;
        const masked = run(bytes, { shape: shape(oid), format, column: hide });
        expect(await readBack(masked.out!, `${type}[]`, format)).toBe('{"\\"[hidden]\\"",NULL,"\\"[hidden]\\""}');
      }
    }
  });

  it('masks the JSON text of jsonb elements with detectors', async () => {
    for (const format of [0, 1] as const) {
      const bytes = (await cell(`SELECT ARRAY['{"to": "bob@example.com"}', '{"n": 1}']::jsonb[]`, [], format === 1))!;
      const masked = run(bytes, { shape: shape(3807), format, content: atWords });
      expect(masked.hits).toEqual({ emails: 1 });
      expect(await readBack(masked.out!, 'jsonb[]', format)).toBe('{"{\\"to\\": \\"[email]\\"}","{\\"n\\": 1}"}');
    }
  });

  it('masks arrays of a domain over an array, element by element', async () => {
    // ARRAY[...] cannot build one; a column of the domain's array type can hold one.
    const created = await postgres.exchange(
      serialize.query(`CREATE DOMAIN pg_temp.tags AS text[]; CREATE TEMP TABLE tagged (v pg_temp.tags[]); INSERT INTO tagged VALUES (ARRAY['{a@b.c,d}'::pg_temp.tags, '{"e f"}'::pg_temp.tags])`),
    );
    expect(created.filter((message) => message[0] === 0x45).map((message) => message.toString('utf8', 5))).toEqual([]);
    const nested: ValueShape = { kind: 'array', element: shape(1009), elementOid: 1009 };
    for (const format of [0, 1] as const) {
      const bytes = (await cell(`SELECT v FROM tagged`, [], format === 1))!;
      const masked = run(bytes, { shape: nested, format, content: atWords });
      expect(masked.hits).toEqual({ emails: 1 });
      expect(await readBack(masked.out!, 'pg_temp.tags[]', format)).toBe('{"{[email],d}","{\\"e f\\"}"}');
    }
  });

  it('rejects an array that is not one with a ProtocolError', () => {
    expect(() => run(Buffer.from('{a,'), { shape: shape(1009), format: 0, content: atWords })).toThrow(ProtocolError);
    expect(() => run(Buffer.from('{a,b}'), { shape: shape(1009), format: 1, column: hide })).toThrow(ProtocolError);
  });
});

describe('builtinShape', () => {
  it('agrees with the server catalog on every built-in type', async () => {
    const rows = (await cell(`SELECT json_agg(json_build_array(oid::int, typname, typelem::int)) FROM pg_type WHERE oid < 16384`))!.toString('utf8');
    const types = JSON.parse(rows) as [number, string, number][];
    const byName = new Map(types.map(([oid, name, element]) => [name, { oid, element }]));
    const kinds: Record<string, string> = { text: 'text', varchar: 'text', bpchar: 'text', name: 'text', xml: 'text', unknown: 'text', json: 'json', jsonb: 'jsonb' };
    for (const [oid, name, element] of types) {
      const found = builtinShape(oid);
      const base = name.startsWith('_') ? name.slice(1) : undefined;
      if (kinds[name]) expect(found, name).toEqual({ kind: kinds[name] });
      else if (base && kinds[base] && byName.get(base)?.oid === element) {
        expect(found, name).toEqual({ kind: 'array', element: { kind: kinds[base] }, elementOid: element });
      } else expect(found, name).toEqual({ kind: 'other' });
    }
    expect(types.filter(([oid]) => builtinShape(oid)?.kind !== 'other').map(([, name]) => name).sort()).toEqual(
      ['_bpchar', '_json', '_jsonb', '_name', '_text', '_varchar', '_xml', 'bpchar', 'json', 'jsonb', 'name', 'text', 'unknown', 'varchar', 'xml'],
    );
  });

  it('leaves user types to the catalog', () => {
    expect([16384, 2 ** 31, 4294967295, -1].map(builtinShape)).toEqual([undefined, undefined, undefined, undefined]);
  });
});
