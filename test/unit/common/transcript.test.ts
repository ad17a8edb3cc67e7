import { describe, expect, it } from 'vitest';
import { transcriptFrames, type TranscriptEvent } from '../../../proxy/common/transcript.js';

const SESSION = { id: 'S1', resource: 'testdb' };
const T0 = 1_700_000_000_000_000;

/** Events one second apart from T0, numbered from 1. */
function events(...list: { kind: string; payload: unknown; at?: number }[]): TranscriptEvent[] {
  return list.map((event, index) => ({ seq: index + 1, time: event.at ?? T0 + index * 1_000_000, kind: event.kind, payload: event.payload }));
}

const CONNECT = { kind: 'connect', payload: { identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] }, resource: 'testdb', client_address: '127.0.0.1:5432', application: 'psql' } };
const DISCONNECT = { kind: 'disconnect', payload: { status: 'closed', counters: { statements: 1, errors: 0, rows: 3 } } };

const text = (list: readonly TranscriptEvent[]) =>
  transcriptFrames(SESSION, list)
    .map((frame) => frame.text)
    .join('');

describe('transcriptFrames', () => {
  it('renders a SELECT as psql would: prompt, aligned table from the masked sample, row count, masked cells, time', () => {
    const list = events(
      CONNECT,
      {
        kind: 'query',
        payload: {
          protocol: 'simple',
          text: 'SELECT id, email, note\nFROM users',
          duration_ms: 1.5,
          rows: 3,
          outcome: 'ok',
          tags: ['SELECT 3'],
          masked: { emails: 2, pii: 1 },
          sample: { columns: ['id', 'email', 'note'], rows: [['1', 'a***@example.com', '[redacted:email]'], ['10', null, 'hi']], truncated: true },
        },
      },
      DISCONNECT,
    );
    expect(text(list)).toBe(
      [
        '-- session S1 · resource testdb · ci-job (ci) · from 127.0.0.1:5432 · psql',
        'testdb=> SELECT id, email, note',
        'testdb-> FROM users',
        ' id |      email       |       note',
        '----+------------------+------------------',
        '  1 | a***@example.com | [redacted:email]',
        ' 10 |                  | hi',
        '(3 rows)',
        '(showing first 2 rows as recorded)',
        '-- masked: emails 2, pii 1',
        'Time: 1.500 ms',
        '-- session closed: 1 statement, 0 errors',
        '',
      ].join('\n'),
    );
  });

  it('times the prompt at the statement start and the result at its end, never going back in time', () => {
    const frames = transcriptFrames(SESSION, events(CONNECT, { kind: 'query', payload: { text: 'SELECT 1', duration_ms: 250, rows: 1, outcome: 'ok', tags: ['SELECT 1'] } }, { kind: 'query', payload: { text: 'SELECT pg_sleep(5)', duration_ms: 5000, rows: 1, outcome: 'ok', tags: ['SELECT 1'] } }));
    expect(frames.map((frame) => [frame.kind, frame.seq, frame.time - T0])).toEqual([
      ['prompt', 1, 0],
      ['statement', 2, 750_000],
      ['result', 2, 1_000_000],
      ['statement', 3, 1_000_000],
      ['result', 3, 2_000_000],
    ]);
  });

  it('shows a denial once: prompt and rule with the decision, then the error the client saw', () => {
    const list = events(
      { kind: 'decision', payload: { effect: 'deny', rule: 'ci-no-ddl', reason: 'CI jobs may not change the schema', trace: [], text: 'DROP TABLE users' } },
      { kind: 'query', payload: { text: 'DROP TABLE users', duration_ms: 0.2, rows: 0, outcome: 'error', tags: [], error: { code: '42501', message: 'denied by rule ci-no-ddl' }, decision: { effect: 'deny', rule: 'ci-no-ddl' } } },
    );
    const frames = transcriptFrames(SESSION, list);
    expect(frames.map((frame) => frame.kind)).toEqual(['statement', 'decision', 'error']);
    expect(text(list)).toBe(
      ['testdb=> DROP TABLE users', '-- denied by rule ci-no-ddl: CI jobs may not change the schema', 'ERROR:  denied by rule ci-no-ddl', '-- SQLSTATE 42501', 'Time: 0.200 ms', ''].join('\n'),
    );
  });

  it('shows a held statement with its parameters, the wait, the approver and then its command tag', () => {
    const list = events(
      { kind: 'approval', payload: { action: 'requested', id: 'A1', rule: 'ci-writes', reasons: [], quorum: 1 } },
      { kind: 'decision', payload: { effect: 'approve', rule: 'ci-writes', reason: 'writes need a human', text: 'UPDATE items SET name = $1 WHERE id = $2', approval: 'A1' } },
      { kind: 'approval', payload: { action: 'vote', id: 'A1', approver: { subject: 'alice' }, decision: 'approve', scope: 'once' } },
      { kind: 'approval', payload: { action: 'approved', id: 'A1', by: ['alice'], reason: 'alice: looks fine' } },
      { kind: 'approval', payload: { action: 'executed', id: 'A1' } },
      { kind: 'query', payload: { protocol: 'extended', text: 'UPDATE items SET name = $1 WHERE id = $2', params: ['x', null], duration_ms: 3, rows: 3, outcome: 'ok', tags: ['UPDATE 3'], decision: { effect: 'approve', rule: 'ci-writes', approval: 'A1' } } },
    );
    expect(text(list)).toBe(
      [
        'testdb=> UPDATE items SET name = $1 WHERE id = $2',
        "-- params: $1 = 'x', $2 = NULL",
        '-- waiting for approval A1 (rule ci-writes)',
        '-- approved by alice (alice: looks fine)',
        'UPDATE 3',
        'Time: 3.000 ms',
        '',
      ].join('\n'),
    );
  });

  it('says when an approval was denied, expired or cancelled', () => {
    const list = events(
      { kind: 'approval', payload: { action: 'denied', id: 'A1', by: ['bob'], reason: 'freeze' } },
      { kind: 'approval', payload: { action: 'expired', id: 'A2', reason: 'no decision in 2s' } },
      { kind: 'approval', payload: { action: 'cancelled', id: 'A3', cause: 'client cancelled' } },
    );
    expect(text(list)).toBe(['-- approval denied by bob: freeze', '-- approval A2 expired: no decision in 2s', '-- approval A3 cancelled: client cancelled', ''].join('\n'));
  });

  it('says which limit a session hit and what the gateway did', () => {
    const list = events(
      { kind: 'limit', payload: { limit: 'rows_per_statement', value: 1000, rule: 'ci-export', action: 'stopped', rows: 1000, text: 'SELECT * FROM big' } },
      { kind: 'limit', payload: { limit: 'statements_per_minute', value: 5, rule: 'limits', action: 'refused', text: 'SELECT 6' } },
      { kind: 'limit', payload: { limit: 'bytes_per_session', value: 20000, rule: 'ci-bytes', action: 'held', rows: 84 } },
    );
    const frames = transcriptFrames(SESSION, list);
    expect(frames.map((frame) => frame.kind)).toEqual(['decision', 'decision', 'decision']);
    expect(text(list)).toBe(
      [
        '-- limit rows_per_statement = 1000 (ci-export): result stopped after 1000 rows',
        '-- limit statements_per_minute = 5 (limits): statement refused',
        '-- limit bytes_per_session = 20000 (ci-bytes): result held for approval after 84 rows',
        '',
      ].join('\n'),
    );
  });

  it('prints upstream errors and session errors as psql does, with the SQLSTATE', () => {
    const list = events(
      { kind: 'query', payload: { text: 'SELECT * FROM nope', duration_ms: 0.75, rows: 0, outcome: 'error', tags: [], error: { code: '42P01', message: 'relation "nope" does not exist' } } },
      { kind: 'error', payload: { source: 'upstream', code: '57P01', message: 'terminating connection due to administrator command' } },
      { kind: 'disconnect', payload: { status: 'aborted', counters: { statements: 1, errors: 2, rows: 0 } } },
    );
    expect(text(list)).toBe(
      [
        'testdb=> SELECT * FROM nope',
        'ERROR:  relation "nope" does not exist',
        '-- SQLSTATE 42P01',
        'Time: 0.750 ms',
        'ERROR:  terminating connection due to administrator command',
        '-- SQLSTATE 57P01, from the upstream',
        '-- session aborted: 1 statement, 2 errors',
        '',
      ].join('\n'),
    );
  });

  it('escapes control characters in statements, cells, names and errors so a replay cannot drive the terminal', () => {
    const list = events(
      { kind: 'connect', payload: { identity: { subject: 'evil\u001b]0;pwned\u0007' }, resource: 'testdb', application: 'x\u009b2J' } },
      { kind: 'query', payload: { text: "SELECT '\u001b[2J'\r\n\tAS a", duration_ms: 1, rows: 1, outcome: 'ok', tags: ['SELECT 1'], sample: { columns: ['a\u001b'], rows: [['line1\nline2\u202e']], truncated: false } } },
      { kind: 'query', payload: { text: 'x', outcome: 'error', error: { message: 'bad \u001b[31mred' } } },
    );
    const output = text(list);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(output).toContain('-- session S1 · resource testdb · evil\\x1b]0;pwned\\x07 · x\\x9b2J');
    expect(output).toContain("testdb=> SELECT '\\x1b[2J'\ntestdb-> \tAS a\n");
    expect(output).toContain(' line1\\x0aline2\\u{202e}');
    expect(output).toContain('ERROR:  bad \\x1b[31mred');
  });

  it('renders unknown kinds and malformed payloads as comments without throwing', () => {
    const list = events(
      { kind: 'mystery', payload: { method: 'GET', path: '/x\u001b' } },
      { kind: 'query', payload: null },
      { kind: 'query', payload: { text: 42, tags: 'SELECT 1', sample: { columns: 'id' }, masked: [1], rows: 'many' } },
      { kind: 'decision', payload: 'nonsense' },
      { kind: 'approval', payload: {} },
      { kind: 'disconnect', payload: {} },
      { kind: 'notice', payload: { message: 'hello' } },
    );
    expect(text(list)).toBe(
      [
        '-- mystery: {"method":"GET","path":"/x\\u001b"}',
        'testdb=> -- (statement text not recorded)',
        'testdb=> -- (statement text not recorded)',
        'testdb=> -- (statement text not recorded)',
        '-- decided by rule ?',
        '-- approval ?: unknown action',
        '-- session closed: 2 statements, 0 errors',
        'NOTICE:  hello',
        '',
      ].join('\n'),
    );
  });

  it('shows a SELECT whose rows were not sampled, and several results of one query', () => {
    const list = events({ kind: 'query', payload: { text: 'BEGIN; SELECT 1; SELECT 2; COMMIT', duration_ms: 2, rows: 2, outcome: 'ok', tags: ['BEGIN', 'SELECT 1', 'SELECT 1', 'COMMIT'], sample: { columns: ['?column?'], rows: [['1']], truncated: false } } });
    expect(text(list)).toBe(
      ['testdb=> BEGIN; SELECT 1; SELECT 2; COMMIT', 'BEGIN', ' ?column?', '----------', '        1', '(1 row)', '(1 row)', '-- rows not recorded', 'COMMIT', 'Time: 2.000 ms', ''].join('\n'),
    );
  });
});
