import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskingRulesSchema } from '../../../proxy/config/schema.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';
import type { ContentMasker } from '../../../proxy/masking/masking-types.js';
import { BINARY_COPY_REFUSAL, CopyOutMasker } from '../../../proxy/postgres/copy-out-masker.js';
import { MaskingFailure } from '../../../proxy/postgres/masking-failure.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { copyData, copyOutResponse, frameOf, int16, typed } from '../../fixtures/postgres/protocol-messages.js';
import { rawPostgres, type RawPostgres } from './raw-postgres.js';

// COPY ... TO STDOUT rows as the suite's PostgreSQL really sends them, masked in place: each
// masked text or CSV row is fed back to PostgreSQL, which must read the same fields from it.

const KEY = Buffer.alloc(32, 9);
const content = (rule: Record<string, unknown>): ContentMasker => new MaskingRules(maskingRulesSchema.parse([rule]), KEY).profileFor(['ci']).content;
const pii = content({ name: 'pii', detect: ['email', 'ssn'], strategy: 'redact' });

const ROWS = `(VALUES (1, 'zoe@example.com', 'tab	and "quote", comma', '123-45-6789'), (2, 'none', E'line\\nbreak', NULL), (3, 'Zoë <zoe@example.com>', 'back\\slash', 'x'))`;

let postgres: RawPostgres;
beforeAll(async () => {
  postgres = await rawPostgres();
});
afterAll(() => {
  postgres?.close();
});

/** The CopyOutResponse and CopyData messages PostgreSQL answers `COPY (...) TO STDOUT <options>` with. */
async function copyOut(options: string): Promise<{ response: Buffer; rows: Buffer[] }> {
  const messages = await postgres.exchange(serialize.query(`COPY (SELECT * FROM ${ROWS} AS t(id, email, note, ssn) ORDER BY id) TO STDOUT ${options}`));
  const response = messages.find((message) => message[0] === 0x48);
  expect(response, messages.map((message) => message.toString('latin1')).join(' | ')).toBeDefined();
  return { response: response!, rows: messages.filter((message) => message[0] === 0x64) };
}

/** The rows `masker` sends the client for `rows` (masked or the original bytes), as text. */
function masked(masker: CopyOutMasker, response: Buffer, rows: readonly Buffer[], hits = new Map<string, number>()): string[] {
  masker.start(frameOf(response));
  const out = rows.map((row) => (masker.data(frameOf(row), hits) ?? row).subarray(5).toString('utf8'));
  masker.end();
  return out;
}

/** What PostgreSQL reads back from COPY text: the fields of each row, via COPY FROM STDIN into a temp table. */
async function readBack(lines: readonly string[], options: string): Promise<string[][]> {
  await postgres.exchange(serialize.query('CREATE TEMP TABLE IF NOT EXISTS back (id int, email text, note text, ssn text); TRUNCATE back'));
  const messages = await postgres.exchange(Buffer.concat([serialize.query(`COPY back FROM STDIN ${options}`), serialize.copyData(Buffer.from(lines.join(''), 'utf8')), serialize.copyDone()]));
  expect(messages.find((message) => message[0] === 0x45)?.toString('utf8')).toBeUndefined();
  const result = await postgres.exchange(serialize.query("SELECT concat_ws('|', id, email, note, coalesce(ssn, 'NULL')) FROM back ORDER BY id"));
  return result.filter((message) => message[0] === 0x44).map((row) => row.subarray(11).toString('utf8').split('|'));
}

describe('COPY ... TO STDOUT masking', () => {
  it('masks text-format rows in place, counting hits, and PostgreSQL reads the same fields back', async () => {
    const { response, rows } = await copyOut('');
    const hits = new Map<string, number>();
    const lines = masked(new CopyOutMasker(pii), response, rows, hits);
    expect(lines).toEqual([
      '1\t[redacted:email]\ttab\\tand "quote", comma\t[redacted:ssn]\n',
      '2\tnone\tline\\nbreak\t\\N\n',
      '3\tZoë <[redacted:email]>\tback\\\\slash\tx\n',
    ]);
    expect(hits).toEqual(new Map([['pii', 3]]));
    expect(await readBack(lines, '')).toEqual([
      ['1', '[redacted:email]', 'tab\tand "quote", comma', '[redacted:ssn]'],
      ['2', 'none', 'line\nbreak', 'NULL'],
      ['3', 'Zoë <[redacted:email]>', 'back\\slash', 'x'],
    ]);
  });

  it('masks CSV rows (with a header) in place, keeping quoting intact', async () => {
    const { response, rows } = await copyOut('WITH (FORMAT csv, HEADER)');
    const lines = masked(new CopyOutMasker(pii), response, rows);
    expect(lines[0]).toBe('id,email,note,ssn\n');
    expect(lines[1]).toBe('1,[redacted:email],"tab\tand ""quote"", comma",[redacted:ssn]\n');
    expect(lines.join('')).not.toMatch(/zoe@|123-45-6789/);
    expect(await readBack(lines.slice(1), 'WITH (FORMAT csv)')).toEqual([
      ['1', '[redacted:email]', 'tab\tand "quote", comma', '[redacted:ssn]'],
      ['2', 'none', 'line\nbreak', 'NULL'],
      ['3', 'Zoë <[redacted:email]>', 'back\\slash', 'x'],
    ]);
  });

  it('forwards rows nothing changes as their original bytes', async () => {
    const { response, rows } = await copyOut('');
    const masker = new CopyOutMasker(pii);
    masker.start(frameOf(response));
    expect(masker.data(frameOf(rows[1]!), new Map())).toBeUndefined();
  });

  it('refuses binary COPY output, whole or per column', async () => {
    const { response } = await copyOut('WITH (FORMAT binary)');
    expect(() => new CopyOutMasker(pii).start(frameOf(response))).toThrow(MaskingFailure);
    expect(() => new CopyOutMasker(pii).start(frameOf(response))).toThrow(BINARY_COPY_REFUSAL);
    const mixed = typed('H', Buffer.from([0]), int16(2), int16(0), int16(1));
    expect(() => new CopyOutMasker(pii).start(frameOf(mixed))).toThrow(MaskingFailure);
  });

  it('fails closed on what it cannot mask in place: a null-strategy hit, a replacement that moves fields, a row split in two', () => {
    const nulls = new CopyOutMasker(content({ name: 'gone', detect: 'email', strategy: 'null' }));
    nulls.start(frameOf(copyOutResponse(1)));
    expect(() => nulls.data(frameOf(copyData(Buffer.from('a@b.com\n'))), new Map())).toThrow(/null-strategy/);

    // Config refuses such replacements; a detector or strategy that ever produced one must not reshape rows.
    const tabs: ContentMasker = { empty: false, mask: (text) => (text.includes('@') ? text.replace(/\S+@\S+/, 'a\tb') : undefined) };
    const reshaping = new CopyOutMasker(tabs);
    reshaping.start(frameOf(copyOutResponse(1)));
    expect(() => reshaping.data(frameOf(copyData(Buffer.from('1,a@b.com\n'))), new Map())).toThrow(/change the fields of a COPY row/);

    const split = new CopyOutMasker(pii);
    split.start(frameOf(copyOutResponse(1)));
    expect(() => split.data(frameOf(copyData(Buffer.from('1\tzoe@exa'))), new Map())).toThrow(/split across CopyData/);
  });

  it('fails closed on a masked row that is not UTF-8 (COPY ... ENCODING)', () => {
    const masker = new CopyOutMasker(pii);
    masker.start(frameOf(copyOutResponse(1)));
    expect(() => masker.data(frameOf(copyData(Buffer.from('caf\xe9 a@b.com\n', 'latin1'))), new Map())).toThrow(/only in UTF-8/);
  });

  it('throws ProtocolError for CopyData outside a COPY and for a malformed CopyOutResponse', () => {
    const masker = new CopyOutMasker(pii);
    expect(() => masker.data(frameOf(copyData(Buffer.from('x\n'))), new Map())).toThrow(ProtocolError);
    masker.start(frameOf(copyOutResponse(2)));
    masker.end();
    expect(() => masker.data(frameOf(copyData(Buffer.from('x\n'))), new Map())).toThrow(/outside a COPY/);
    const response = copyOutResponse(2);
    for (let cut = 0; cut < response.length - 5; cut++) {
      const short = Buffer.from(response.subarray(0, 5 + cut));
      short.writeInt32BE(short.length - 1, 1);
      expect(() => masker.start(frameOf(short))).toThrow(ProtocolError);
    }
    expect(() => masker.start(frameOf(typed('H', Buffer.from([0]), int16(-1))))).toThrow(ProtocolError);
  });
});
