import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mapBinaryArray,
  mapTextArray,
  parseBinaryArray,
  parseTextArray,
  quoteElement,
  serializeBinaryArray,
  serializeTextArray,
  type TextArrayItem,
} from '../../../proxy/masking/array-codec.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { oneCell } from './masking-fixtures.js';
import { rawPostgres, type RawPostgres } from '../postgres/raw-postgres.js';

// The array codec against what the suite's PostgreSQL really writes (array_out, array_send) and
// reads back (array_in, array_recv): the formats are the question, so the server answers it.

let postgres: RawPostgres;
const cell = (text: string, values: (string | Buffer | null)[] = [], binary = false) => oneCell(postgres, text, values, binary);
beforeAll(async () => {
  postgres = await rawPostgres();
});
afterAll(() => {
  postgres?.close();
});


async function textCell(sql: string, values: (string | Buffer | null)[] = []): Promise<string> {
  return (await cell(sql, values))!.toString('utf8');
}

function flatten(items: readonly TextArrayItem[]): (string | null)[] {
  return items.flatMap((item) => (Array.isArray(item) ? flatten(item) : [item as string | null]));
}

const SAMPLES: readonly { readonly name: string; readonly sql: string }[] = [
  {
    name: 'text[] with quoting, NULLs and unicode',
    sql: `SELECT ARRAY['a', 'b c', NULL, 'x"y', 'back\\slash', 'NULL', 'null', '', ' lead', 'trail ', '{brace}', 'comma,', 'ünïcødé 😀', E'tab\\there', E'new\\nline', E'ff\\fvt\\x0b', 'semi;colon', 'NULLS']::text[]`,
  },
  { name: 'varchar[] 2-D', sql: `SELECT '{{a,b},{c,"d e"}}'::varchar[]` },
  { name: 'text[] with a lower bound of 0', sql: `SELECT '[0:1]={a,b}'::text[]` },
  { name: 'text[] 2-D with lower bounds', sql: `SELECT '[-1:0][2:3]={{a,NULL},{"c,",d}}'::text[]` },
  { name: 'text[] 3-D', sql: `SELECT '{{{a,b}},{{c,NULL}}}'::text[]` },
  { name: 'empty text[]', sql: `SELECT '{}'::text[]` },
  { name: 'bpchar[] with padding', sql: `SELECT ARRAY['ab'::char(4), 'abcd']` },
  { name: 'name[]', sql: `SELECT ARRAY['pg_class'::name, 'with space']` },
  { name: 'xml[]', sql: `SELECT ARRAY['<a href="x">y, z</a>'::xml]` },
  { name: 'json[]', sql: `SELECT ARRAY['{"a": "b c"}'::json, '[1, "x\\\\y"]', 'null', NULL]` },
  { name: 'jsonb[]', sql: `SELECT ARRAY['{"a": "b@c.de", "n": [1, 2]}'::jsonb, '"str"', '{}', NULL]` },
  { name: 'text[] of one NULL', sql: `SELECT ARRAY[NULL]::text[]` },
];

describe('text format', () => {
  it.each(SAMPLES)('round-trips $name byte for byte', async ({ sql }) => {
    const literal = await textCell(sql);
    expect(serializeTextArray(parseTextArray(literal))).toBe(literal);
    // Identity writes every element back; an array with no non-NULL element reports no change.
    expect(mapTextArray(literal, (element) => element) ?? literal).toBe(literal);
    expect(mapTextArray(literal, () => undefined)).toBeUndefined();
  });

  it.each(SAMPLES)('reads the same elements from $name as the binary format holds', async ({ sql }) => {
    const literal = await textCell(sql);
    const binary = parseBinaryArray((await cell(sql, [], true))!);
    const jsonb = sql.includes('jsonb');
    const expected = binary.elements.map((element) => (element === null ? null : element.toString('utf8', jsonb ? 1 : 0)));
    expect(flatten(parseTextArray(literal).items)).toEqual(expected);
  });

  it('keeps dimension decoration and nesting, and PostgreSQL reads the masked literal back', async () => {
    const literal = await textCell(`SELECT '[0:1][2:3]={{a,"b@c d"},{NULL,"x\\"y"}}'::text[]`);
    const masked = mapTextArray(literal, (element) => (element.includes('@') ? '{"masked", \\ null}' : element.length === 1 ? 'NULL' : null))!;
    expect(masked).toBe('[0:1][2:3]={{"NULL","{\\"masked\\", \\\\ null}"},{NULL,NULL}}');
    expect(await textCell('SELECT $1::text[]', [masked])).toBe(masked);
    expect(await textCell('SELECT array_lower($1::text[], 1) || array_lower($1::text[], 2)::text || ($1::text[])[0][3]', [masked])).toBe('02{"masked", \\ null}');
  });

  it('quotes exactly as array_out does', async () => {
    const elements = ['plain', '', 'NULL', 'nUlL', 'NULLx', 'a b', 'a\tb', 'a\u000bb', 'a{', 'a}', 'a,b', 'a"b', 'a\\b', 'ü', 'a\u00a0b', "it's", 'a;b', '[0:1]'];
    const literal = await textCell('SELECT $1::text[]', [`{${elements.map((element) => `"${element.replace(/["\\]/g, '\\$&')}"`).join(',')}}`]);
    expect(`{${elements.map(quoteElement).join(',')}}`).toBe(literal);
  });

  it('reads blanks and escapes the way array_in does', async () => {
    for (const input of ['{ a , "b" ,c\\ ,  d\\,e  }', '{  {a, b} , {c ,d}  }', '{"a" , NULL , nulL, N\\ULL}', '  {x}  ', '{a\\"b}']) {
      const canonical = await textCell('SELECT $1::text[]', [input]);
      expect(serializeTextArray(parseTextArray(input)), input).toBe(canonical);
    }
  });

  it('rejects malformed literals with a ProtocolError, as PostgreSQL rejects them', async () => {
    const malformed = ['', 'a', '{', '{a', '{a,', '{a,}', '{,a}', '{"a}', '{"a"b}', '{a"b"}', '{{a},b}', '{a,{b}}', '{a}x', '{a}}', '[0:1]{a}', '[x]={a}', '[0:1]=', '{a\\', '{"a\\"}', '{{{{{{{a}}}}}}}'];
    for (const literal of malformed) {
      expect(() => parseTextArray(literal), literal).toThrow(ProtocolError);
      await expect(textCell('SELECT $1::text[]', [literal]), literal).rejects.toThrow();
    }
  });

  it('accepts and rejects random literals exactly as PostgreSQL does, and reads them alike', async () => {
    let seed = 11;
    const random = (below: number): number => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 * below);
    const pieces = ['{', '}', ',', '"', '\\', ' ', 'a', 'b c', 'NULL', 'null', 'ü', '\t', '{a,b}', '"x\\"y"', '{}', '{a}', '{{a}}'];
    let agreed = 0;
    for (let round = 0; round < 2000; round++) {
      let literal = ['', '', '', '[0:1]=', '[2]=', '[1:1][1:1]=', '[1:0]='][random(7)] + '{';
      for (let count = random(8); count > 0; count--) literal += pieces[random(pieces.length)];
      literal += '}';
      const server = await textCell('SELECT $1::text[]', [literal]).catch(() => undefined);
      let ours: string | ProtocolError;
      try {
        ours = serializeTextArray(parseTextArray(literal));
      } catch (error) {
        expect(error, literal).toBeInstanceOf(ProtocolError);
        ours = error as ProtocolError;
      }
      if (server === undefined) {
        expect(ours, literal).toBeInstanceOf(ProtocolError);
        continue;
      }
      expect(ours, literal).toBe(server);
      agreed++;
    }
    expect(agreed).toBeGreaterThan(100);
  });

  it('fails every truncation of a real literal cleanly', async () => {
    const literal = await textCell(SAMPLES[0]!.sql);
    for (let length = 0; length < literal.length; length++) {
      expect(() => parseTextArray(literal.slice(0, length)), literal.slice(0, length)).toThrow(ProtocolError);
    }
  });

  it('parses a multi-megabyte element in linear time', () => {
    const big = 'x'.repeat(4 << 20);
    const started = performance.now();
    const literal = `{"${big}\\"${big}",${big}}`;
    const items = parseTextArray(literal).items;
    expect(items).toEqual([`${big}"${big}`, big]);
    expect(serializeTextArray({ dimensions: '', items })).toBe(literal);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('binary format', () => {
  it.each(SAMPLES)('round-trips $name byte for byte', async ({ sql }) => {
    const bytes = (await cell(sql, [], true))!;
    expect(serializeBinaryArray(parseBinaryArray(bytes)).equals(bytes)).toBe(true);
    expect((mapBinaryArray(bytes, (element) => Buffer.from(element)) ?? bytes).equals(bytes)).toBe(true);
    expect(mapBinaryArray(bytes, () => undefined)).toBeUndefined();
  });

  it('reads dimensions, lower bounds, element type and NULLs', async () => {
    const array = parseBinaryArray((await cell(`SELECT '[-1:0][2:3]={{a,NULL},{"c,",d}}'::text[]`, [], true))!);
    expect(array.elementOid).toBe(25);
    expect(array.dimensions).toEqual([
      { size: 2, lowerBound: -1 },
      { size: 2, lowerBound: 2 },
    ]);
    expect(array.elements.map((element) => element?.toString() ?? null)).toEqual(['a', null, 'c,', 'd']);
  });

  it('rewrites lengths and the has-NULL flag, and PostgreSQL reads the result back', async () => {
    const bytes = (await cell(`SELECT ARRAY['a@b.c', 'short', 'ünï']::varchar[]`, [], true))!;
    expect(bytes.readInt32BE(4)).toBe(0);
    const masked = mapBinaryArray(bytes, (element) => (element.includes('@') ? Buffer.from('[redacted: much longer]') : element.equals(Buffer.from('short')) ? null : Buffer.from('é')))!;
    expect(masked.readInt32BE(4)).toBe(1);
    expect(await textCell('SELECT $1::varchar[]', [masked])).toBe('{"[redacted: much longer]",NULL,é}');
    expect((await cell('SELECT $1::varchar[]', [masked], true))!.equals(masked)).toBe(true);
  });

  it('keeps the element type PostgreSQL checks on the way back in', async () => {
    const bytes = (await cell(`SELECT ARRAY['{"a": 1}'::jsonb]`, [], true))!;
    expect(parseBinaryArray(bytes).elementOid).toBe(3802);
    const masked = mapBinaryArray(bytes, () => Buffer.from('\x01"x"', 'latin1'))!;
    expect(await textCell('SELECT $1::jsonb[]', [masked])).toBe('{"\\"x\\""}');
    await expect(textCell('SELECT $1::text[]', [masked])).rejects.toThrow(/element type/);
  });

  it('rejects malformed arrays with a ProtocolError, quickly', () => {
    const header = (ndim: number, flags: number, ...rest: number[]): Buffer => {
      const out = Buffer.alloc(12 + 4 * rest.length);
      out.writeInt32BE(ndim, 0);
      out.writeInt32BE(flags, 4);
      out.writeUInt32BE(25, 8);
      rest.forEach((value, index) => out.writeInt32BE(value, 12 + 4 * index));
      return out;
    };
    const cases: [string, Buffer][] = [
      ['shorter than a header', Buffer.alloc(11)],
      ['7 dimensions', header(7, 0, ...Array<number>(14).fill(1), 0)],
      ['negative dimensions', header(-1, 0)],
      ['flags 2', header(0, 2)],
      ['dimensions cut short', header(2, 0, 1, 1)],
      ['negative size', header(1, 0, -1, 1)],
      ['a billion elements', header(2, 0, 0x7fffffff, 1, 0x7fffffff, 1, -1)],
      ['length -2', header(1, 1, 1, 1, -2)],
      ['length past the end', header(1, 0, 1, 1, 5, 0x61616161)],
      ['element length cut short', Buffer.concat([header(1, 0, 2, 1, 1), Buffer.from('a'), Buffer.from([0, 0])])],
      ['bytes after the last element', Buffer.concat([header(1, 0, 1, 1, 1), Buffer.from('ab')])],
    ];
    for (const [name, bytes] of cases) {
      const started = performance.now();
      expect(() => parseBinaryArray(bytes), name).toThrow(ProtocolError);
      expect(performance.now() - started, name).toBeLessThan(50);
    }
  });

  it('fails every truncation and survives random corruption of a real array', async () => {
    const bytes = (await cell(SAMPLES[1]!.sql, [], true))!;
    for (let length = 0; length < bytes.length; length++) expect(() => parseBinaryArray(bytes.subarray(0, length))).toThrow(ProtocolError);
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 5000; round++) {
      const corrupt = Buffer.from(bytes);
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) corrupt[Math.floor(random() * corrupt.length)] = Math.floor(random() * 256);
      try {
        serializeBinaryArray(parseBinaryArray(corrupt));
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }
  });
});
