import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { errorResponse, readyForQuery } from '../../../proxy/postgres/backend-writer.js';
import {
  bindComplete,
  closeComplete,
  commandComplete,
  dataRow,
  emptyQueryResponse,
  noData,
  parseComplete,
  portalSuspended,
  rowDescription,
} from '../../fixtures/postgres/protocol-messages.js';
import { Conversation } from './conversation.js';

const idle = () => readyForQuery('I');
const intColumn = (name: string) => rowDescription([{ name, typeOid: 23, typeSize: 4 }]);
const divisionByZero = () => errorResponse({ code: '22012', message: 'division by zero' });

describe('StatementLog with the simple query protocol', () => {
  it('reports a query once its ReadyForQuery arrives, with rows, tag and duration', () => {
    const session = new Conversation().client(serialize.query('SELECT id FROM t'));
    expect(session.log.inFlight).toBe(true);
    session.wait(12.5).server(intColumn('id'), dataRow(['1']), dataRow(['2']), commandComplete('SELECT 2'));
    expect(session.records).toEqual([]);
    session.server(idle());
    expect(session.records).toEqual([{ protocol: 'simple', text: 'SELECT id FROM t', duration_ms: 12.5, rows: 2, outcome: 'ok', tags: ['SELECT 2'] }]);
    expect(session.log.inFlight).toBe(false);
  });

  it('reports a multi-statement query as one record with every tag and the rows of all statements', () => {
    const text = "INSERT INTO t VALUES (1); UPDATE t SET x = 1; SELECT 'a' UNION SELECT 'b'";
    const session = new Conversation().client(serialize.query(text));
    session.server(commandComplete('INSERT 0 1'), commandComplete('UPDATE 3'), intColumn('x'), dataRow(['a']), dataRow(['b']), commandComplete('SELECT 2'), idle());
    expect(session.records).toEqual([expect.objectContaining({ text, rows: 6, outcome: 'ok', tags: ['INSERT 0 1', 'UPDATE 3', 'SELECT 2'] })]);
  });

  it('reports an error with its SQLSTATE and message, and the rows sent before it', () => {
    const session = new Conversation().client(serialize.query('SELECT 1/x FROM t'));
    session.server(intColumn('?column?'), dataRow(['1']), dataRow(['2']), divisionByZero(), readyForQuery('E'));
    expect(session.records).toEqual([
      { protocol: 'simple', text: 'SELECT 1/x FROM t', duration_ms: 0, rows: 2, outcome: 'error', tags: [], error: { code: '22012', message: 'division by zero' } },
    ]);
  });

  it('reports a query whose error arrived as failed, not aborted, when the session ends before its ReadyForQuery', () => {
    const session = new Conversation().client(serialize.query('SELECT 1/0'), serialize.query('SELECT 2'));
    session.server(divisionByZero());
    session.log.abandon();
    expect(session.records.map((record) => [record.text, record.outcome])).toEqual([
      ['SELECT 1/0', 'error'],
      ['SELECT 2', 'aborted'],
    ]);
  });

  it('reports the statements that completed before an error in a multi-statement query by their tags', () => {
    const session = new Conversation().client(serialize.query('CREATE TABLE a (); SELECT 1/0'));
    session.server(commandComplete('CREATE TABLE'), divisionByZero(), readyForQuery('E'));
    expect(session.records).toEqual([expect.objectContaining({ rows: 0, outcome: 'error', tags: ['CREATE TABLE'], error: { code: '22012', message: 'division by zero' } })]);
  });

  it('reports an empty query as ok with no rows and no tag', () => {
    const session = new Conversation().client(serialize.query(''));
    session.server(emptyQueryResponse(), idle());
    expect(session.records).toEqual([{ protocol: 'simple', text: '', duration_ms: 0, rows: 0, outcome: 'ok', tags: [] }]);
  });

  it('reports queries sent back to back in order, each with its own duration', () => {
    const session = new Conversation().client(serialize.query('SELECT 1'), serialize.query('SELECT 2'));
    session.wait(3).server(intColumn('a'), dataRow(['1']), commandComplete('SELECT 1'), idle());
    session.wait(4).server(intColumn('a'), dataRow(['2']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => [record.text, record.duration_ms])).toEqual([
      ['SELECT 1', 3],
      ['SELECT 2', 7],
    ]);
  });
});

describe('StatementLog rows', () => {
  it('takes the count from a tag that has one, and counts DataRows for tags without one', () => {
    const session = new Conversation().client(serialize.query('SELECT * FROM t'), serialize.query('SHOW TimeZone'), serialize.query('CREATE TABLE t ()'), serialize.query('COPY t TO STDOUT'));
    session.server(intColumn('a'), dataRow(['1']), dataRow(['2']), dataRow(['3']), commandComplete('SELECT 3'), idle());
    session.server(rowDescription([{ name: 'TimeZone', typeOid: 25, typeSize: -1 }]), dataRow(['UTC']), commandComplete('SHOW'), idle());
    session.server(commandComplete('CREATE TABLE'), idle());
    session.server(commandComplete('COPY 5'), idle());
    expect(session.records.map((record) => [record.text, record.rows])).toEqual([
      ['SELECT * FROM t', 3],
      ['SHOW TimeZone', 1],
      ['CREATE TABLE t ()', 0],
      ['COPY t TO STDOUT', 5],
    ]);
  });

  it('reads the row count from the last number of a tag', () => {
    const session = new Conversation().client(serialize.query('INSERT INTO t SELECT generate_series(1, 12)'));
    session.server(commandComplete('INSERT 0 12'), idle());
    expect(session.records[0]!.rows).toBe(12);
  });
});

describe('StatementLog with the extended query protocol', () => {
  it('reports an Execute when its CommandComplete arrives, with the parsed text and bound parameters', () => {
    const session = new Conversation().client(
      serialize.parse({ text: 'SELECT * FROM t WHERE id = $1' }),
      serialize.bind({ values: ['42'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    expect(session.log.inFlight).toBe(true);
    session.wait(2).server(parseComplete(), bindComplete(), intColumn('id'), dataRow(['42']), commandComplete('SELECT 1'));
    // Reported at its Sync: an implicit commit failing there would still mark it failed.
    expect(session.records).toEqual([]);
    expect(session.log.inFlight).toBe(true);
    session.wait(5).server(idle());
    expect(session.log.inFlight).toBe(false);
    expect(session.records).toEqual([{ protocol: 'extended', text: 'SELECT * FROM t WHERE id = $1', params: ['42'], duration_ms: 2, rows: 1, outcome: 'ok', tags: ['SELECT 1'] }]);
  });

  it('reports pipelined Executes before one Sync in order', () => {
    const session = new Conversation().client(
      serialize.parse({ name: 'ins', text: 'INSERT INTO t VALUES ($1)' }),
      serialize.bind({ statement: 'ins', values: ['1'] }),
      serialize.execute({}),
      serialize.bind({ statement: 'ins', values: ['2'] }),
      serialize.execute({}),
      serialize.bind({ statement: 'ins', values: ['3'] }),
      serialize.execute({}),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), commandComplete('INSERT 0 1'), bindComplete(), commandComplete('INSERT 0 1'), bindComplete(), commandComplete('INSERT 0 1'), idle());
    expect(session.records.map((record) => [record.statement, record.params, record.rows, record.outcome])).toEqual([
      ['ins', ['1'], 1, 'ok'],
      ['ins', ['2'], 1, 'ok'],
      ['ins', ['3'], 1, 'ok'],
    ]);
    expect(session.log.inFlight).toBe(false);
  });

  it('keeps several Syncs in flight apart', () => {
    const session = new Conversation().client(
      serialize.parse({ text: 'SELECT 1' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
      serialize.parse({ text: 'SELECT 2' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    session.wait(1).server(parseComplete(), bindComplete(), dataRow(['1']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => record.text)).toEqual(['SELECT 1']);
    expect(session.log.inFlight).toBe(true);
    session.wait(1).server(parseComplete(), bindComplete(), dataRow(['2']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => [record.text, record.duration_ms])).toEqual([
      ['SELECT 1', 1],
      ['SELECT 2', 2],
    ]);
    expect(session.log.inFlight).toBe(false);
  });

  it('reports the failing Execute of a pipeline, drops the ones the server skipped up to Sync, and goes on with the next Sync', () => {
    const session = new Conversation().client(
      serialize.parse({ name: 'div', text: 'SELECT 10 / $1::int' }),
      serialize.bind({ statement: 'div', values: ['2'] }),
      serialize.execute({}),
      serialize.bind({ statement: 'div', values: ['0'] }),
      serialize.execute({}),
      serialize.bind({ statement: 'div', values: ['5'] }),
      serialize.execute({}),
      serialize.sync(),
      serialize.bind({ statement: 'div', values: ['1'] }),
      serialize.execute({}),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), dataRow(['5']), commandComplete('SELECT 1'), bindComplete(), divisionByZero(), readyForQuery('E'));
    session.server(bindComplete(), dataRow(['10']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => [record.params, record.outcome, record.rows, record.error?.code])).toEqual([
      [['2'], 'ok', 1, undefined],
      [['0'], 'error', 0, '22012'],
      [['1'], 'ok', 1, undefined],
    ]);
    expect(session.log.inFlight).toBe(false);
  });

  it('drops an Execute that reaches the server after an error, up to the Sync, and stays in step', () => {
    const session = new Conversation().client(serialize.parse({ text: 'SELECT 1/x FROM t' }), serialize.bind({}), serialize.execute({}), serialize.flush());
    session.server(parseComplete(), bindComplete(), divisionByZero());
    // Sent before the client saw the error: the server skips it.
    session.client(serialize.bind({}), serialize.execute({}), serialize.sync());
    session.server(idle());
    session.client(serialize.query('SELECT 2'));
    session.server(intColumn('?column?'), dataRow(['2']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => [record.text, record.outcome, record.rows])).toEqual([
      ['SELECT 1/x FROM t', 'error', 0],
      ['SELECT 2', 'ok', 1],
    ]);
    expect(session.log.inFlight).toBe(false);
  });

  it('attributes a failed Bind to the Execute that never ran', () => {
    const session = new Conversation().client(serialize.parse({ text: 'SELECT $1::int' }), serialize.bind({ values: ['x'] }), serialize.execute({}), serialize.sync());
    session.server(parseComplete(), errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "x"' }), readyForQuery('I'));
    expect(session.records).toEqual([expect.objectContaining({ text: 'SELECT $1::int', params: ['x'], outcome: 'error', error: { code: '22P02', message: 'invalid input syntax for type integer: "x"' } })]);
  });

  it('records a named statement reused across Binds with text, binary (as \\x hex) and NULL parameters', () => {
    const session = new Conversation().client(
      serialize.parse({ name: 'find', text: 'SELECT * FROM t WHERE a = $1 AND b = $2 AND c IS NOT DISTINCT FROM $3' }),
      serialize.bind({ statement: 'find', values: ['alpha', Buffer.from([0xde, 0xad, 0xbe, 0xef]), null] }),
      serialize.execute({}),
      serialize.sync(),
      serialize.bind({ statement: 'find', values: ['beta', Buffer.alloc(0), 'gamma'] }),
      serialize.execute({}),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), commandComplete('SELECT 0'), idle(), bindComplete(), commandComplete('SELECT 0'), idle());
    expect(session.records.map((record) => [record.statement, record.text, record.params])).toEqual([
      ['find', 'SELECT * FROM t WHERE a = $1 AND b = $2 AND c IS NOT DISTINCT FROM $3', ['alpha', '\\xdeadbeef', null]],
      ['find', 'SELECT * FROM t WHERE a = $1 AND b = $2 AND c IS NOT DISTINCT FROM $3', ['beta', '\\x', 'gamma']],
    ]);
  });

  it('shortens long parameters and keeps at most 100 of them', () => {
    const session = new Conversation().client(
      serialize.parse({ name: 'wide', text: 'SELECT 1' }),
      serialize.bind({ statement: 'wide', values: ['x'.repeat(2000), Buffer.alloc(300, 0xab), ...Array.from({ length: 150 }, (_, i) => String(i))] }),
      serialize.execute({}),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), commandComplete('SELECT 1'), idle());
    const params = session.records[0]!.params!;
    expect(params).toHaveLength(100);
    expect(params[0]).toBe(`${'x'.repeat(1024)}…`);
    expect(params[1]).toBe(`\\x${'ab'.repeat(256)}…`);
    expect(params[99]).toBe('97');
  });

  it('forgets a closed statement and a closed portal', () => {
    const session = new Conversation().client(
      serialize.parse({ name: 's1', text: 'SELECT 1' }),
      serialize.close({ type: 'S', name: 's1' }),
      serialize.bind({ statement: 's1' }),
      serialize.execute({}),
      serialize.sync(),
    );
    session.server(parseComplete(), closeComplete(), errorResponse({ code: '26000', message: 'prepared statement "s1" does not exist' }), idle());
    session.client(
      serialize.parse({ name: 's2', text: 'SELECT 2' }),
      serialize.bind({ portal: 'p2', statement: 's2' }),
      serialize.close({ type: 'P', name: 'p2' }),
      serialize.execute({ portal: 'p2' }),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), closeComplete(), errorResponse({ code: '34000', message: 'portal "p2" does not exist' }), idle());
    expect(session.records.map((record) => [record.text, record.statement, record.error?.code])).toEqual([
      ['', 's1', '26000'],
      ['', undefined, '34000'],
    ]);
  });

  it('reports each Execute of a suspended portal with the rows it fetched', () => {
    const session = new Conversation().client(
      serialize.parse({ text: 'SELECT generate_series(1, 5)' }),
      serialize.bind({ portal: 'c' }),
      serialize.execute({ portal: 'c', rows: 2 }),
      serialize.flush(),
    );
    session.server(parseComplete(), bindComplete(), dataRow(['1']), dataRow(['2']), portalSuspended());
    expect(session.records).toEqual([]);
    session.client(serialize.execute({ portal: 'c', rows: 2 }), serialize.execute({ portal: 'c', rows: 2 }), serialize.sync());
    session.server(dataRow(['3']), dataRow(['4']), portalSuspended(), dataRow(['5']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => [record.text, record.rows, record.tags])).toEqual([
      ['SELECT generate_series(1, 5)', 2, []],
      ['SELECT generate_series(1, 5)', 2, []],
      ['SELECT generate_series(1, 5)', 1, ['SELECT 1']],
    ]);
    expect(session.log.inFlight).toBe(false);
  });

  it('reports an empty statement on its EmptyQueryResponse', () => {
    const session = new Conversation().client(serialize.parse({ text: '' }), serialize.bind({}), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync());
    session.server(parseComplete(), bindComplete(), noData(), emptyQueryResponse(), idle());
    expect(session.records).toEqual([{ protocol: 'extended', text: '', params: [], duration_ms: 0, rows: 0, outcome: 'ok', tags: [] }]);
    session.server(idle());
    expect(session.log.inFlight).toBe(false);
  });

  it('reports nothing for a Sync on its own, nor for a server message nobody asked for', () => {
    const session = new Conversation().client(serialize.sync());
    expect(session.log.inFlight).toBe(true);
    session.server(idle());
    expect(session.log.inFlight).toBe(false);
    session.server(commandComplete('SELECT 1'), dataRow(['1']), emptyQueryResponse(), divisionByZero(), idle());
    expect(session.records).toEqual([]);
    expect(session.log.inFlight).toBe(false);
  });

  it('measures an Execute from when it was sent, rounded to the microsecond', () => {
    const session = new Conversation().client(serialize.parse({ text: 'SELECT pg_sleep(0.1)' }), serialize.bind({}));
    session.wait(50);
    session.client(serialize.execute({}), serialize.sync());
    session.wait(100.123456).server(parseComplete(), bindComplete(), dataRow(['']), commandComplete('SELECT 1'), idle());
    expect(session.records[0]!.duration_ms).toBe(100.123);
  });

  // PostgreSQL answers a Query sent while extended messages wait for their Sync (checked against
  // PostgreSQL 18: the Execute's answers, then the Query's with its ReadyForQuery, then the Sync's).
  // An earlier StatementLog took the Query's ReadyForQuery for the extended unit's and never
  // reported anything in that session again.
  it('reports a simple Query sent while extended messages wait for their Sync, and everything after it', () => {
    const session = new Conversation().client(
      serialize.parse({ text: 'SELECT 1' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.flush(),
      serialize.query('SELECT 2'),
      serialize.sync(),
    );
    session.server(parseComplete(), bindComplete(), dataRow(['1']), commandComplete('SELECT 1'));
    session.server(intColumn('?column?'), dataRow(['2']), commandComplete('SELECT 1'), idle(), idle());
    session.client(serialize.query('SELECT 3'));
    session.server(intColumn('?column?'), dataRow(['3']), commandComplete('SELECT 1'), idle());
    expect(session.records.map((record) => record.text)).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    expect(session.log.inFlight).toBe(false);
  });
});
