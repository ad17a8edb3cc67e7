import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatementRecord } from '../../../proxy/postgres/statement-log.js';
import { Conversation } from './conversation.js';
import { rawPostgres, type RawPostgres } from './raw-postgres.js';

// The statement log fed with what the suite's PostgreSQL really answers, for the sequences where
// the server's behaviour is the question (pipelines with errors, portals fetched in pieces).

describe('StatementLog against a real PostgreSQL', () => {
  let postgres: RawPostgres;
  beforeAll(async () => {
    postgres = await rawPostgres();
  });
  afterAll(() => {
    postgres?.close();
  });

  /** Sends `messages`, feeds both directions to a log, returns its records. */
  async function run(messages: readonly Buffer[], readyCount: number): Promise<StatementRecord[]> {
    const session = new Conversation().client(...messages);
    session.server(...(await postgres.exchange(Buffer.concat(messages), readyCount)));
    expect(session.log.inFlight).toBe(false);
    return session.records;
  }

  it('matches what the server did with a pipeline that fails in the middle', async () => {
    const records = await run(
      [
        serialize.parse({ name: 'div', text: 'SELECT 10 / $1::int AS q' }),
        serialize.bind({ statement: 'div', values: ['2'] }),
        serialize.execute({}),
        serialize.bind({ statement: 'div', values: ['0'] }),
        serialize.execute({}),
        serialize.bind({ statement: 'div', values: ['5'] }),
        serialize.execute({}),
        serialize.sync(),
        serialize.parse({ text: 'SELECT generate_series(1, $1::int)' }),
        serialize.bind({ values: ['4'] }),
        serialize.execute({}),
        serialize.sync(),
        serialize.query("SELECT 1; SELECT 'x' WHERE false; SELECT 1/0"),
        serialize.query(''),
      ],
      4,
    );
    expect(records.map((record) => [record.protocol, record.text, record.params, record.rows, record.outcome, record.tags, record.error?.code])).toEqual([
      ['extended', 'SELECT 10 / $1::int AS q', ['2'], 1, 'ok', ['SELECT 1'], undefined],
      ['extended', 'SELECT 10 / $1::int AS q', ['0'], 0, 'error', [], '22012'],
      ['extended', 'SELECT generate_series(1, $1::int)', ['4'], 4, 'ok', ['SELECT 4'], undefined],
      ['simple', "SELECT 1; SELECT 'x' WHERE false; SELECT 1/0", undefined, 1, 'error', ['SELECT 1', 'SELECT 0'], '22012'],
      ['simple', '', undefined, 0, 'ok', [], undefined],
    ]);
  });

  it('matches what the server did with a portal fetched in pieces', async () => {
    const records = await run(
      [
        serialize.query('BEGIN'),
        serialize.parse({ text: 'SELECT generate_series(1, 5)' }),
        serialize.bind({ portal: 'c' }),
        ...Array.from({ length: 4 }, () => serialize.execute({ portal: 'c', rows: 2 })),
        serialize.sync(),
        serialize.query('COMMIT'),
      ],
      3,
    );
    expect(records.map((record) => [record.text, record.rows, record.tags])).toEqual([
      ['BEGIN', 0, ['BEGIN']],
      ['SELECT generate_series(1, 5)', 2, []],
      ['SELECT generate_series(1, 5)', 2, []],
      ['SELECT generate_series(1, 5)', 1, ['SELECT 1']],
      ['SELECT generate_series(1, 5)', 0, ['SELECT 0']],
      ['COMMIT', 0, ['COMMIT']],
    ]);
  });

  // BUG (statement-log.ts error(), line 123 `if (!head || head.kind === 'sync') return;`): when
  // the implicit transaction of a Sync fails to commit (a deferred constraint), PostgreSQL sends
  // CommandComplete 'INSERT 0 1', then ErrorResponse 23503 at the Sync, then ReadyForQuery. The
  // INSERT was already reported as ok with 1 row at its CommandComplete, and the error, meeting the
  // pending Sync, is dropped: the audit shows a write that was rolled back as done. The same
  // statement sent as a simple Query is reported with outcome 'error'.
  it('reports a failed commit at Sync, as it does for the same statement in a simple Query', async () => {
    await run([serialize.query('CREATE TEMP TABLE parent (id int PRIMARY KEY); CREATE TEMP TABLE child (parent int REFERENCES parent DEFERRABLE INITIALLY DEFERRED)')], 1);
    const simple = await run([serialize.query('INSERT INTO child VALUES (1)')], 1);
    expect(simple.map((record) => [record.outcome, record.error?.code])).toEqual([['error', '23503']]);
    const extended = await run([serialize.parse({ text: 'INSERT INTO child VALUES (1)' }), serialize.bind({}), serialize.execute({}), serialize.sync()], 1);
    expect(extended.some((record) => record.error?.code === '23503')).toBe(true);
  });

  // BUG (statement-log.ts error(), line 125 `if (head.kind === 'query') return;`): after an error
  // in an extended message, PostgreSQL ignores everything up to Sync, a Query included (checked:
  // Parse 'SELEC bad', Query 'SELECT 2', Sync draws ErrorResponse 42601 and ONE ReadyForQuery).
  // The log gives the Parse's error to the pending Query and stops there, without dropping up to
  // the Sync; the ReadyForQuery then reports the Query and leaves the Sync pending. From then on
  // every ReadyForQuery is matched with the statement before the one it answers: the next Query
  // is not reported (its answer is consumed by the stale Sync), later ones are reported with the
  // results of the statement after them, and inFlight stays true.
  it('stays in step after a Query the server skipped for an earlier extended-protocol error', async () => {
    const session = new Conversation();
    const skipped = [serialize.parse({ text: 'SELEC bad' }), serialize.query('SELECT 2'), serialize.sync()];
    session.client(...skipped).server(...(await postgres.exchange(Buffer.concat(skipped), 1)));
    const next = serialize.query('SELECT 3');
    session.client(next).server(...(await postgres.exchange(next, 1)));
    expect(session.records.at(-1)).toMatchObject({ text: 'SELECT 3', outcome: 'ok', rows: 1, tags: ['SELECT 1'] });
    expect(session.log.inFlight).toBe(false);
  });
});
