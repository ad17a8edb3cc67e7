import { serialize } from 'pg-protocol';
import type { RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../../proxy/postgres/message-reader.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { decodeBind } from '../../../proxy/postgres/frontend-decode.js';
import { decodeRowDescription, resultFormats, type ResultField } from '../../../proxy/postgres/row-description.js';
import { rawPostgres, type RawPostgres } from './raw-postgres.js';

// RowDescription and Bind's result formats as the suite's PostgreSQL writes and reads them.

let postgres: RawPostgres;
beforeAll(async () => {
  postgres = await rawPostgres();
  await postgres.exchange(serialize.query('CREATE TEMP TABLE people (id int, email text, tags varchar(20)[], doc jsonb)'));
});
afterAll(() => {
  postgres?.close();
});

/** A frame for `message` placed inside a larger buffer, as the message reader hands them out. */
function frameOf(message: Buffer): Frame {
  const buffer = Buffer.concat([Buffer.from('junk'), message, Buffer.from('more')]);
  return { code: message[0]!, buffer, start: 4, end: 4 + message.length };
}

/** A typed message: code, int32 length, body. */
function typed(code: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = code;
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function pgProtocolFields(message: Buffer): ResultField[] {
  let parsed: RowDescriptionMessage | undefined;
  new Parser().parse(message, (decoded) => {
    parsed = decoded as RowDescriptionMessage;
  });
  return parsed!.fields.map((field) => ({
    name: field.name,
    tableOid: field.tableID,
    attnum: field.columnID,
    typeOid: field.dataTypeID,
    typeModifier: field.dataTypeModifier,
    format: field.format === 'text' ? 0 : 1,
  }));
}

function only(messages: readonly Buffer[], code: string): Buffer[] {
  return messages.filter((message) => message[0] === code.charCodeAt(0));
}

/** A Bind written by hand: pg-protocol's serializer asks for one result format for all columns. */
function bind(options: { values?: (Buffer | null)[]; parameterFormats?: number[]; resultFormats?: number[]; portal?: string }): Buffer {
  const parts: Buffer[] = [Buffer.from(`${options.portal ?? ''}\0\0`)];
  const int16 = (value: number): Buffer => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
  const formats = options.parameterFormats ?? [];
  parts.push(int16(formats.length), ...formats.map(int16));
  const values = options.values ?? [];
  parts.push(int16(values.length));
  for (const value of values) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(value === null ? -1 : value.length);
    parts.push(length, ...(value === null ? [] : [value]));
  }
  const results = options.resultFormats ?? [];
  parts.push(int16(results.length), ...results.map(int16));
  return typed(0x42, Buffer.concat(parts));
}

const SELECT = 'SELECT id, email AS mail, tags, doc, 1 + $1::int AS two, $2::text AS echo FROM people';

describe('decodeRowDescription', () => {
  it('reads what PostgreSQL describes, as pg-protocol does, with table OIDs and attribute numbers', async () => {
    const messages = await postgres.exchange(
      Buffer.concat([serialize.parse({ text: SELECT }), serialize.describe({ type: 'S' }), serialize.query(`SELECT 'people'::regclass::oid::text`)]),
    );
    // The extended-protocol part runs without Sync; the Query's ReadyForQuery ends both.
    const [description, tableOidRow] = [only(messages, 'T')[0]!, only(messages, 'D')[0]!];
    const fields = decodeRowDescription(frameOf(description));
    expect(fields).toEqual(pgProtocolFields(description));
    const tableOid = Number(tableOidRow.toString('utf8', 11));
    expect(fields.map(({ name, tableOid: table, attnum, typeOid, typeModifier, format }) => [name, table, attnum, typeOid, typeModifier, format])).toEqual([
      ['id', tableOid, 1, 23, -1, 0],
      ['mail', tableOid, 2, 25, -1, 0],
      ['tags', tableOid, 3, 1015, 24, 0],
      ['doc', tableOid, 4, 3802, -1, 0],
      ['two', 0, 0, 23, -1, 0],
      ['echo', 0, 0, 25, -1, 0],
    ]);
  });

  it('agrees with the formats a Describe of the portal reports, given the Bind', async () => {
    const cases: number[][] = [[], [1], [0], [1, 0, 1, 1, 0, 1]];
    for (const formats of cases) {
      const bindMessage = bind({ values: [Buffer.from('1'), null], resultFormats: formats });
      const messages = await postgres.exchange(
        Buffer.concat([serialize.parse({ text: SELECT }), serialize.describe({ type: 'S' }), bindMessage, serialize.describe({ type: 'P' }), serialize.sync()]),
      );
      const [statement, portal] = only(messages, 'T').map((message) => decodeRowDescription(frameOf(message)));
      expect(statement!.every((field) => field.format === 0)).toBe(true);
      expect(resultFormats(statement!, decodeBind(frameOf(bindMessage)).resultFormats)).toEqual(portal!.map((field) => field.format));
    }
  });

  it('reads OIDs as unsigned and an empty description', () => {
    // One field "a": table 0xfffffff0, attnum 2, type 0xfffffffe, typlen -1, typmod -1, binary.
    const message = typed(0x54, Buffer.from('0001 6100 fffffff0 0002 fffffffe ffff ffffffff 0001'.replaceAll(' ', ''), 'hex'));
    expect(decodeRowDescription(frameOf(message))).toEqual([{ name: 'a', tableOid: 4294967280, attnum: 2, typeOid: 4294967294, typeModifier: -1, format: 1 }]);
    expect(decodeRowDescription(frameOf(Buffer.from([0x54, 0, 0, 0, 6, 0, 0])))).toEqual([]);
  });

  it('rejects malformed descriptions with a ProtocolError', async () => {
    const [description] = only(await postgres.exchange(Buffer.concat([serialize.parse({ text: SELECT }), serialize.describe({ type: 'S' }), serialize.sync()])), 'T');
    const body = description!.subarray(5);
    const message = (bytes: Buffer): Buffer => typed(0x54, bytes);
    for (let length = 0; length < body.length; length++) {
      expect(() => decodeRowDescription(frameOf(message(body.subarray(0, length)))), `cut at ${length}`).toThrow(ProtocolError);
    }
    expect(() => decodeRowDescription(frameOf(message(Buffer.concat([body, Buffer.from([0])]))))).toThrow(/1 bytes after its 6 fields/);
    const negative = Buffer.from(body);
    negative.writeInt16BE(-1, 0);
    expect(() => decodeRowDescription(frameOf(message(negative)))).toThrow(/field count -1/);
    const badFormat = Buffer.from(body);
    badFormat.writeInt16BE(2, badFormat.length - 2);
    expect(() => decodeRowDescription(frameOf(message(badFormat)))).toThrow(/format code 2/);
    expect(() => decodeRowDescription(frameOf(Buffer.from([0x44, 0, 0, 0, 6, 0, 0])))).toThrow(ProtocolError);
  });
});

describe('Bind result formats', () => {
  it('skips names, parameter formats and values, NULLs and binary ones included', () => {
    const message = bind({ portal: 'p1', values: [Buffer.from('abc'), null, Buffer.from([0, 0, 0, 1])], parameterFormats: [0, 0, 1], resultFormats: [1, 0] });
    expect(decodeBind(frameOf(message)).resultFormats).toEqual([1, 0]);
    expect(decodeBind(frameOf(serialize.bind({ values: ['x'], binary: true }))).resultFormats).toEqual([1]);
    expect(decodeBind(frameOf(bind({}))).resultFormats).toEqual([]);
  });

  it('applies none, one, or one per column, and refuses other counts and codes as PostgreSQL does', async () => {
    const fields = [{ format: 0 }, { format: 0 }] as ResultField[];
    expect(resultFormats(fields, [])).toEqual([0, 0]);
    expect(resultFormats(fields, [1])).toEqual([1, 1]);
    expect(resultFormats(fields, [0, 1])).toEqual([0, 1]);
    expect(() => resultFormats(fields, [0, 1, 1])).toThrow(ProtocolError);
    expect(() => resultFormats(fields, [2])).toThrow(ProtocolError);
    expect(() => resultFormats(fields, [1, -1])).toThrow(ProtocolError);
    for (const formats of [[0, 1, 1], [2]]) {
      const messages = await postgres.exchange(Buffer.concat([serialize.parse({ text: 'SELECT 1, 2' }), bind({ resultFormats: formats }), serialize.execute({}), serialize.sync()]));
      expect(only(messages, 'E')[0]!.toString('utf8')).toMatch(/C(08P01|22023)\0M(bind message has 3 result formats|unsupported format code: 2)/);
    }
  });

  it('rejects a malformed Bind with a ProtocolError at every cut', () => {
    const message = bind({ portal: 'p', values: [Buffer.from('abc'), null], parameterFormats: [1], resultFormats: [1, 0] });
    for (let length = 5; length < message.length; length++) {
      const cut = Buffer.from(message.subarray(0, length));
      cut.writeInt32BE(length - 1, 1);
      expect(() => decodeBind(frameOf(cut)).resultFormats, `cut at ${length}`).toThrow(ProtocolError);
    }
    const negative = bind({ values: [Buffer.from('abc')] });
    negative.writeInt32BE(-2, 11);
    expect(() => decodeBind(frameOf(negative)).resultFormats).toThrow(/length -2/);
    const trailing = Buffer.concat([message, Buffer.from([0])]);
    trailing.writeInt32BE(trailing.length - 1, 1);
    expect(() => decodeBind(frameOf(trailing)).resultFormats).toThrow(/after the result formats/);
    expect(() => decodeBind(frameOf(serialize.sync())).resultFormats).toThrow(ProtocolError);
  });
});
