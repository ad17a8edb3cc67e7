import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../../proxy/approvals/approval-types.js';
import type { EventRecord } from '../../../proxy/audit/audit-types.js';
import type { Identity } from '../../../proxy/identity/identity.js';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const psql = findProgram('psql');

const BIG = "SELECT g, repeat('x', 20) FROM generate_series(1, 1000000) g";
const FLAGS = '[no_where, cte_write, select_into, copy_program, dangerous_function, unknown_function, set_role, explain_analyze, full_scan]';
// ci as in the other tests, and the dba group (no limit rule) on the same resource.
const POLICY = [
  `{ name: ci-all, match: { groups: [ci], resources: [testdb], flags: ${FLAGS} }, effect: allow }`,
  `{ name: dba-all, match: { groups: [dba], resources: [testdb], flags: ${FLAGS} }, effect: allow }`,
];

const alice: Identity = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };

let db: TestDatabase;
let direct: pg.Client;
/** rows_per_statement 1000 for group ci, on_exceed deny. */
let rows: TestGateway;
/** bytes_per_statement and bytes_per_session for group ci. */
let bytes: TestGateway;
/** rows_per_statement 1000 for group ci, on_exceed approve. */
let approve: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  direct = await db.connect();
  [rows, bytes, approve] = await Promise.all([
    startTestGateway(db, { tls: 'off', policy: POLICY, limits: '{ rules: [{ name: ci-export, groups: [ci], rows_per_statement: 1000 }] }' }),
    startTestGateway(db, { tls: 'off', policy: POLICY, limits: '{ rules: [{ name: ci-bytes, groups: [ci], bytes_per_statement: 10000, bytes_per_session: 20000 }] }' }),
    startTestGateway(db, { tls: 'off', policy: POLICY, limits: '{ on_exceed: approve, rules: [{ name: ci-export, groups: [ci], rows_per_statement: 1000 }] }', approvals: '{ timeout: 20s, quorum: 1 }' }),
  ]);
});

afterAll(async () => {
  await Promise.all([rows?.close(), bytes?.close(), approve?.close()]);
  await db?.drop();
});

interface Outcome {
  readonly rows: number;
  readonly error: pg.DatabaseError | undefined;
  /** Milliseconds from the last row received to the statement's end. */
  readonly tailMs: number;
}

/** Runs a query, counting the rows as they arrive (in `progress` too) rather than keeping them. */
function run(client: pg.Client, text: string, values?: unknown[], progress = { rows: 0 }): Promise<Outcome> {
  return new Promise((resolve) => {
    let last = Date.now();
    const query = new pg.Query(text, values);
    query.on('row', () => {
      progress.rows++;
      last = Date.now();
    });
    query.on('error', (error: Error) => resolve({ rows: progress.rows, error: error as pg.DatabaseError, tailMs: Date.now() - last }));
    query.on('end', () => resolve({ rows: progress.rows, error: undefined, tailMs: Date.now() - last }));
    void client.query(query);
  });
}

/** Backends of the test database still running a statement like `pattern`. */
async function running(pattern: string): Promise<number> {
  const { rows: found } = await direct.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE $1",
    [`%${pattern}%`],
  );
  return found[0]!.n;
}

async function events(on: TestGateway, kind: EventRecord['kind']): Promise<EventRecord[]> {
  await on.engine.store.flush();
  const sessions = await on.engine.store.listSessions({ limit: 100 });
  const all = await Promise.all(sessions.map((session) => on.engine.store.listEvents(session.id)));
  return all.flat().filter((event) => event.kind === kind);
}

function nextRequest(on: TestGateway): Promise<Approval> {
  return new Promise((resolve) => {
    const off = on.engine.approvals.on('requested', (approval) => {
      off();
      resolve(approval);
    });
  });
}

describe('rows_per_statement, on_exceed deny', () => {
  it('stops a million-row result at 1000 rows with a clear error, cancels it upstream, and keeps the connection', async () => {
    const client = await rows.connect();
    try {
      const outcome = await run(client, BIG);
      expect(outcome.rows).toBe(1000);
      expect(outcome.error).toBeInstanceOf(pg.DatabaseError);
      expect(outcome.error!.code).toBe('54000');
      expect(outcome.error!.message).toBe('Sluice stopped this result at 1000 rows: limit rows_per_statement of rule "ci-export"');
      expect(outcome.error!.hint).toBe(
        'To get the rest, run a narrower query (a WHERE clause or LIMIT), or ask an administrator to raise limits.rules[ci-export].rows_per_statement or set limits.rules[ci-export].on_exceed: approve.',
      );
      console.log(`[limits] 1M-row SELECT: the client got ${outcome.rows} rows; the error came ${outcome.tailMs} ms after the last row`);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
    expect(await running('generate_series(1, 1000000)')).toBe(0);

    const [limit] = (await events(rows, 'limit')).filter((event) => (event.payload as { text: string }).text === BIG);
    expect(limit?.payload).toEqual({ limit: 'rows_per_statement', value: 1000, rule: 'ci-export', action: 'stopped', rows: 1000, text: BIG });
    const recorded = (await events(rows, 'query')).find((event) => (event.payload as { text: string }).text === BIG);
    expect(recorded?.payload).toMatchObject({ outcome: 'error', rows: 1000, error: { code: '54000' } });
  });

  it('stops a parameterized (extended protocol) query the same way, and the connection stays usable', async () => {
    const client = await rows.connect();
    try {
      const outcome = await run(client, "SELECT g, repeat('x', $1) FROM generate_series(1, 1000000) g", [20]);
      expect(outcome.rows).toBe(1000);
      expect(outcome.error?.code).toBe('54000');
      expect(outcome.error?.message).toMatch(/^Sluice stopped this result at 1000 rows/);
      expect((await client.query('SELECT $1::int + 1 AS n', [41])).rows).toEqual([{ n: 42 }]);
      expect((await client.query({ text: 'SELECT g FROM generate_series(1, $1::int) g', values: [1000] })).rowCount).toBe(1000);
    } finally {
      await client.end();
    }
    expect(await running('generate_series(1, 1000000)')).toBe(0);
    const limits = await events(rows, 'limit');
    expect(limits.some((event) => (event.payload as { text: string }).text.includes("repeat('x', $1)"))).toBe(true);
  });

  it('fails a result that completed before any cancel, skips the rest of the message, and cancels no later statement', async () => {
    const client = await rows.connect();
    try {
      for (let i = 0; i < 20; i++) {
        // 1500 small rows arrive in a chunk or two: the statement's end is read with the row past
        // the limit, so no cancel is sent. 3000 wide rows span chunks: a cancel is sent, and the
        // statement usually completes before it lands (without ReadyForQuery waiting for the
        // cancel to be delivered, it then cancels the pg_sleep below).
        const outcome = await run(client, i % 2 ? "SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g; SELECT 2 AS two" : 'SELECT g FROM generate_series(1, 1500) g; SELECT 2 AS two');
        expect(outcome.rows).toBe(1000);
        expect(outcome.error?.code).toBe('54000');
        const next = await run(client, 'SELECT pg_sleep(0.01), 1 AS one');
        expect(next.error).toBeUndefined();
      }
    } finally {
      await client.end();
    }
  });

  it('leaves callers no rule matches alone', async () => {
    const client = await rows.connect({ user: 'dba', password: rows.dbaToken });
    try {
      const outcome = await run(client, "SELECT g, repeat('x', 20) FROM generate_series(1, 100000) g");
      expect(outcome).toMatchObject({ rows: 100_000, error: undefined });
    } finally {
      await client.end();
    }
  });

  it.skipIf(!psql)('makes psql exit non-zero with the message', async () => {
    const env = { ...process.env, PGPASSWORD: rows.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
    const child = spawn(psql!, ['-X', '-c', BIG, rows.url], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toContain('ERROR:  Sluice stopped this result at 1000 rows: limit rows_per_statement of rule "ci-export"');
    expect(stderr).toContain('HINT:  To get the rest, run a narrower query');
    expect(stdout).toBe('');
  });
});

describe('bytes_per_statement and bytes_per_session', () => {
  it('stops a result at its byte limit, then refuses the statement that would pass the session budget', async () => {
    const client = await bytes.connect();
    try {
      // A DataRow of one int and 100 characters is 5 + 2 + (4 + 1..4) + (4 + 100) bytes.
      const wide = await run(client, "SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g");
      expect(wide.error?.code).toBe('54000');
      expect(wide.error?.message).toMatch(/^Sluice stopped this result at \d+ rows: limit bytes_per_statement \(10000 bytes\) of rule "ci-bytes"$/);
      expect(wide.rows).toBeGreaterThan(80);
      expect(wide.rows).toBeLessThan(90);
      // What that result sent counts against the session: about 9,900 of 20,000 bytes.
      expect((await run(client, "SELECT repeat('x', 9000)")).error).toBeUndefined();
      const refused = await run(client, "SELECT repeat('y', 9000)");
      expect(refused.rows).toBe(0);
      expect(refused.error?.code).toBe('54000');
      expect(refused.error?.message).toBe('Sluice stopped this result at 0 rows: limit bytes_per_session (20000 bytes) of rule "ci-bytes"');
      expect(refused.error?.hint).toMatch(/^To get the rest, start a new session, or ask an administrator to raise limits\.rules\[ci-bytes\]\.bytes_per_session/);
      // Statements without rows still run.
      await client.query('SET application_name = limited');
    } finally {
      await client.end();
    }
    const actions = (await events(bytes, 'limit')).map((event) => (event.payload as { limit: string }).limit);
    expect(actions).toEqual(expect.arrayContaining(['bytes_per_statement', 'bytes_per_session']));
  });
});

describe('on_exceed approve', () => {
  it('holds the result at the limit until an approver lets it go on', async () => {
    const client = await approve.connect();
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    try {
      const requested = nextRequest(approve);
      const progress = { rows: 0 };
      const result = run(client, "SELECT g, repeat('x', 20) FROM generate_series(1, 5000) g", undefined, progress);
      const approval = await requested;
      expect(approval).toMatchObject({ rule: 'ci-export', statement: "SELECT g, repeat('x', 20) FROM generate_series(1, 5000) g" });
      expect(approval.reasons).toEqual(['limit rows_per_statement of rule "ci-export": the result reached 1000 rows']);
      await eventually(async () => expect(notices).toEqual([expect.stringMatching(new RegExp(`^waiting for approval ${approval.id} — this result reached limit rows_per_statement of rule "ci-export"`))]));
      // Nothing past the limit while approvers decide.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(progress.rows).toBe(1000);
      approve.engine.approvals.decide(approval.id, alice, { decision: 'approve' });
      expect(await result).toMatchObject({ rows: 5000, error: undefined });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
    const actions = (await events(approve, 'limit')).map((event) => (event.payload as { action: string }).action);
    expect(actions).toEqual(expect.arrayContaining(['held', 'approved']));
  });

  it('ends the result with the limit error when the approver denies it', async () => {
    const client = await approve.connect();
    try {
      const requested = nextRequest(approve);
      const result = run(client, "SELECT g, $1::text FROM generate_series(1, 1000000) g", ['parameter']);
      const approval = await requested;
      expect(approval.params).toEqual(['parameter']);
      approve.engine.approvals.decide(approval.id, alice, { decision: 'deny', reason: 'export the report instead' });
      const outcome = await result;
      expect(outcome.rows).toBe(1000);
      expect(outcome.error?.code).toBe('54000');
      expect(outcome.error?.message).toBe('Sluice stopped this result at 1000 rows: limit rows_per_statement of rule "ci-export"');
      expect(outcome.error?.detail).toBe(`approval ${approval.id} denied by alice: export the report instead`);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
    expect(await running('generate_series(1, 1000000)')).toBe(0);
  });
});

describe('statements_per_minute', () => {
  it('refuses statements past the rate with when to retry, records it, and leaves other callers alone', async () => {
    const rated = await startTestGateway(db, { tls: 'off', policy: POLICY, limits: '{ rules: [{ name: ci-rate, groups: [ci], statements_per_minute: 5 }] }' });
    try {
      const client = await rated.connect();
      for (let i = 0; i < 5; i++) expect((await client.query('SELECT $1::int AS i', [i])).rows).toEqual([{ i }]);
      const refused = (await client.query('SELECT 6').catch((error: unknown) => error)) as pg.DatabaseError;
      expect(refused.code).toBe('54000');
      expect(refused.message).toBe('Sluice refused this statement: 5 statements in the last minute is the limit (limits.rules[ci-rate].statements_per_minute)');
      expect(refused.hint).toMatch(/^retry in \d+ s, or ask an administrator to raise limits\.rules\[ci-rate\]\.statements_per_minute$/);
      // Refused statements do not count, and the session is still usable once the window allows.
      await expect(client.query('SELECT 7')).rejects.toThrow(/statements in the last minute/);
      await client.end();
      const dba = await rated.connect({ user: 'dba', password: rated.dbaToken });
      for (let i = 0; i < 8; i++) await dba.query('SELECT 1');
      await dba.end();
      const limitEvents = await events(rated, 'limit');
      expect(limitEvents.map((event) => event.payload)).toEqual([
        expect.objectContaining({ limit: 'statements_per_minute', value: 5, rule: 'ci-rate', action: 'refused', text: 'SELECT 6' }),
        expect.objectContaining({ limit: 'statements_per_minute', rule: 'ci-rate', text: 'SELECT 7' }),
      ]);
    } finally {
      await rated.close();
    }
  });
});

describe('full_scan_tables', () => {
  it('flags a SELECT without WHERE or LIMIT on a listed table, so policy can hold it', async () => {
    await direct.query('CREATE TABLE IF NOT EXISTS customers (id int, name text); INSERT INTO customers VALUES (1, $$a$$)');
    const flagged = await startTestGateway(db, {
      tls: 'off',
      policy: [...POLICY, '{ name: bulk-export, match: { groups: [ci], flags: [full_scan] }, effect: deny, reason: "whole-table reads of customers need a WHERE or LIMIT" }'],
      limits: '{ full_scan_tables: [public.customers] }',
    });
    try {
      const client = await flagged.connect();
      await expect(client.query('SELECT * FROM customers')).rejects.toThrow('denied by rule bulk-export: whole-table reads of customers need a WHERE or LIMIT');
      expect((await client.query('SELECT name FROM customers WHERE id = 1')).rows).toEqual([{ name: 'a' }]);
      expect((await client.query('SELECT name FROM customers LIMIT 10')).rows).toEqual([{ name: 'a' }]);
      await client.end();
    } finally {
      await flagged.close();
    }
  });
});
