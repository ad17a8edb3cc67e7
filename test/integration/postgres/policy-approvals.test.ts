import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../../proxy/approvals/approval-types.js';
import type { Identity } from '../../../proxy/identity/identity.js';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rawLogin, untilReadyForQuery } from '../../helpers/raw-client.js';

const psql = findProgram('psql');

// The demo's shape: CI reads and inserts freely, updates and deletes wait for a human, DDL and
// anything touching the audit table are refused.
const POLICY = [
  '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select, insert, set, transaction, prepare] }, effect: allow }',
  '{ name: ci-writes, match: { groups: [ci], resources: [testdb], kinds: [update, delete] }, effect: approve, session_grant: 5m }',
  '{ name: ci-no-ddl, match: { groups: [ci], kinds: [ddl] }, effect: deny, reason: "CI jobs may not change the schema" }',
  '{ name: keep-audit, match: { relations: [public.audit_log], kinds: [update, delete, truncate] }, effect: deny }',
];

let db: TestDatabase;
let gateway: TestGateway;

const alice: Identity = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };
const bob: Identity = { subject: 'bob', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  await db.logStatements();
  const admin = await db.connect();
  await admin.query('CREATE TABLE items (id int PRIMARY KEY, name text, qty int)');
  await admin.query("INSERT INTO items SELECT i, 'item ' || i, i FROM generate_series(1, 10) i");
  await admin.query('CREATE TABLE audit_log (id serial PRIMARY KEY, line text)');
  await admin.query("INSERT INTO audit_log (line) VALUES ('first'), ('second')");
  gateway = await startTestGateway(db, { policy: POLICY, approvals: '{ timeout: 20s, quorum: 1 }', api: true });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

async function count(sql: string): Promise<number> {
  const admin = await db.connect();
  const { rows } = await admin.query<{ n: string }>(sql);
  return Number(rows[0]!.n);
}

/** The next approval requested on the gateway (pending). */
function nextRequest(on: TestGateway = gateway): Promise<Approval> {
  return new Promise((resolve) => {
    const off = on.engine.approvals.on('requested', (approval) => {
      off();
      resolve(approval);
    });
  });
}

/** Calls the engine API over HTTP as the holder of `token`. */
async function callApi(token: string | undefined, method: string, input: unknown): Promise<{ status: number; body: { ok: boolean; value?: unknown; error?: { code: string; message: string } } }> {
  const response = await fetch(`${gateway.engine.api!.url}/api/v1/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** Runs psql through the gateway, resolving with its output once it exits. */
function psqlRun(sql: string): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderr: () => string } {
  const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
  const child = spawn(psql!, ['-X', '-v', 'ON_ERROR_STOP=0', '-c', sql, gateway.url], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { done, stderr: () => stderr };
}

describe('policy on every statement', () => {
  it('lets allowed statements through and refuses a denied one with the rule, leaving the connection usable', async () => {
    const client = await gateway.connect();
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(10);
      const error = await client.query('DROP TABLE items').catch((caught: pg.DatabaseError) => caught);
      expect(error).toBeInstanceOf(pg.DatabaseError);
      expect((error as pg.DatabaseError).code).toBe('42501');
      expect((error as pg.DatabaseError).message).toBe('denied by rule ci-no-ddl: CI jobs may not change the schema');
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
    expect(await count("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'items'")).toBe(1);
  });

  it('aborts the transaction of a denied statement exactly as PostgreSQL would: COMMIT answers ROLLBACK', async () => {
    const client = await gateway.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO audit_log (line) VALUES ('in the transaction')");
      const denied = await client.query('DELETE FROM audit_log').catch((caught: pg.DatabaseError) => caught);
      expect((denied as pg.DatabaseError).message).toMatch(/^denied by rule keep-audit: /);
      const next = await client.query('SELECT 1').catch((caught: pg.DatabaseError) => caught);
      expect((next as pg.DatabaseError).code).toBe('25P02');
      const commit = await client.query('COMMIT');
      expect(commit.command).toBe('ROLLBACK');
    } finally {
      await client.end();
    }
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE line = 'in the transaction'")).toBe(0);
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(2);
  });

  it('denies a parameterized statement in the extended protocol and syncs the connection back', async () => {
    const client = await gateway.connect();
    try {
      const error = await client.query('DELETE FROM audit_log WHERE id = $1', [1]).catch((caught: pg.DatabaseError) => caught);
      expect((error as pg.DatabaseError).code).toBe('42501');
      expect((await client.query('SELECT $1::int + 1 AS n', [41])).rows[0].n).toBe(42);
      // The unnamed statement the client parses next is its own again.
      expect((await client.query('SELECT $1::text AS t', ['ok'])).rows[0].t).toBe('ok');
    } finally {
      await client.end();
    }
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(2);
  });

  it('denies a whole message when one of its statements is denied, even after non-ASCII text', async () => {
    const client = await gateway.connect();
    try {
      const error = await client.query("INSERT INTO audit_log (line) VALUES ('é✓ first'); DROP TABLE items").catch((caught: pg.DatabaseError) => caught);
      expect((error as pg.DatabaseError).message).toMatch(/^denied by rule ci-no-ddl/);
    } finally {
      await client.end();
    }
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE line LIKE 'é✓%'")).toBe(0);
  });

  it('fails closed on SQL that does not parse, with the parser\'s message', async () => {
    const client = await gateway.connect();
    try {
      const error = await client.query('SELEC * FROM items').catch((caught: pg.DatabaseError) => caught);
      expect((error as pg.DatabaseError).code).toBe('42501');
      expect((error as pg.DatabaseError).message).toMatch(/does not parse: syntax error at or near "SELEC"/);
    } finally {
      await client.end();
    }
  });

  it('judges EXECUTE by what the name means now: a protocol Close and Parse of a PREPAREd name make it unknown', async () => {
    const socket = await rawLogin({ host: gateway.host, port: gateway.port, database: gateway.resource, token: gateway.token });
    const exchange = async (...messages: Buffer[]): Promise<string> => {
      const chunks: Buffer[] = [];
      const done = untilReadyForQuery(socket, (chunk) => chunks.push(chunk));
      socket.resume();
      socket.write(Buffer.concat(messages));
      await done;
      return Buffer.concat(chunks).toString('utf8');
    };
    try {
      expect(await exchange(serialize.query('PREPARE p AS SELECT count(*) FROM audit_log'))).toContain('PREPARE');
      expect(await exchange(serialize.query('EXECUTE p'))).toContain('SELECT 1');
      // The same name, re-prepared at the protocol level as a write policy never saw as `p`.
      await exchange(serialize.close({ type: 'S', name: 'p' }), serialize.parse({ name: 'p', text: 'DELETE FROM audit_log', types: [] }), serialize.sync());
      const answer = await exchange(serialize.query('EXECUTE p'));
      expect(answer).toContain('42501');
      expect(answer).toContain('prepared statement "p" was not prepared through Sluice');
    } finally {
      socket.destroy();
    }
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(2);
  });

  it('records each decision with its trace in the session', async () => {
    const client = await gateway.connect();
    await client.query('DROP TABLE items').catch(() => {});
    await client.end();
    await gateway.engine.store.flush();
    const [session] = await gateway.engine.store.listSessions({ limit: 1 });
    const events = await eventually(async () => {
      const all = await gateway.engine.store.listEvents(session!.id);
      if (!all.some((event) => event.kind === 'disconnect')) throw new Error('not ended yet');
      return all;
    });
    const decision = events.find((event) => event.kind === 'decision')!.payload as Record<string, unknown>;
    expect(decision).toMatchObject({ effect: 'deny', rule: 'ci-no-ddl', text: 'DROP TABLE items' });
    const query = events.find((event) => event.kind === 'query')!.payload as Record<string, unknown>;
    expect(query).toMatchObject({ text: 'DROP TABLE items', outcome: 'error', decision: { effect: 'deny', rule: 'ci-no-ddl' } });
  });
});

describe.skipIf(!psql)('approval of exact statements (psql)', () => {
  it('holds psql\'s DELETE until an approver approves, then runs it exactly once', async () => {
    const requested = nextRequest();
    const run = psqlRun('DELETE FROM items WHERE id > 8');
    const approval = await requested;
    expect(approval).toMatchObject({ status: 'pending', statement: 'DELETE FROM items WHERE id > 8', rule: 'ci-writes', resource: 'testdb' });
    expect(approval.requester.subject).toBe('ci-job');
    await eventually(async () => expect(run.stderr()).toContain(`waiting for approval ${approval.id}`));
    // Nothing ran while it waited.
    expect(await count('SELECT count(*) AS n FROM items')).toBe(10);
    // Only approvers decide, and not the requester: through the HTTP API, as the CLI and UI do.
    expect((await callApi(undefined, 'approvals.decide', { id: approval.id, decision: 'approve' })).status).toBe(401);
    expect((await callApi(gateway.staff.carol, 'approvals.decide', { id: approval.id, decision: 'approve' })).status).toBe(403);
    expect((await callApi(gateway.token, 'approvals.decide', { id: approval.id, decision: 'approve' })).status).toBe(403);
    const decided = await callApi(gateway.staff.alice, 'approvals.decide', { id: approval.id, decision: 'approve' });
    expect(decided).toMatchObject({ status: 200, body: { ok: true, value: { status: 'approved' } } });
    const result = await run.done;
    expect(result.stdout).toContain('DELETE 2');
    expect(await count('SELECT count(*) AS n FROM items')).toBe(8);
    const ran = (await db.serverLog()).filter((line) => line.message === 'statement: DELETE FROM items WHERE id > 8');
    expect(ran).toHaveLength(1);
    expect(gateway.engine.approvals.get(approval.id)?.executedAt).toBeGreaterThan(0);
  });

  it('shows the approver\'s reason for a denial and keeps the connection usable', async () => {
    const requested = nextRequest();
    const run = psqlRun("UPDATE items SET qty = 0; SELECT 'after' AS still_here");
    const approval = await requested;
    gateway.engine.approvals.decide(approval.id, bob, { decision: 'deny', reason: 'not during the release freeze' });
    const result = await run.done;
    expect(result.stderr).toContain(`approval ${approval.id} denied by bob: not during the release freeze`);
    expect(await count('SELECT count(*) AS n FROM items WHERE qty = 0')).toBe(0);
    const next = psqlRun("SELECT 'next statement works' AS t");
    expect((await next.done).stdout).toContain('next statement works');
  });
});

describe('approval lifecycle', () => {
  it('holds a node-postgres parameterized UPDATE and runs it with exactly the held parameters', async () => {
    const client = await gateway.connect();
    try {
      const requested = nextRequest();
      const update = client.query('UPDATE items SET name = $1 WHERE id = $2', ['renamed-by-ci', 3]);
      const approval = await requested;
      expect(approval.params).toEqual(['renamed-by-ci', '3']);
      expect(approval.statementHash).toMatch(/^[0-9a-f]{64}$/);
      gateway.engine.approvals.decide(approval.id, alice, { decision: 'approve' });
      expect((await update).rowCount).toBe(1);
    } finally {
      await client.end();
    }
    expect(await count("SELECT count(*) AS n FROM items WHERE id = 3 AND name = 'renamed-by-ci'")).toBe(1);
    const log = await db.serverLog();
    const executed = log.filter((line) => line.message.startsWith('execute') && line.message.endsWith('UPDATE items SET name = $1 WHERE id = $2'));
    expect(executed).toHaveLength(1);
    expect(executed[0]!.detail).toContain("$1 = 'renamed-by-ci', $2 = '3'");
  });

  it('refuses self-approval, duplicate votes, and a deny without a reason', async () => {
    const client = await gateway.connect();
    try {
      const requested = nextRequest();
      const update = client.query('UPDATE items SET qty = qty + 1 WHERE id = 1').catch((caught: Error) => caught);
      const approval = await requested;
      const self: Identity = { subject: 'ci-job', issuer: 'sluice:token', groups: ['ci', 'approvers'], claims: {}, method: 'token' };
      expect(() => gateway.engine.approvals.decide(approval.id, self, { decision: 'approve' })).toThrow(/cannot decide it/);
      expect(() => gateway.engine.approvals.decide(approval.id, alice, { decision: 'deny' })).toThrow(/reason/);
      gateway.engine.approvals.decide(approval.id, alice, { decision: 'deny', reason: 'no' });
      expect(await update).toBeInstanceOf(pg.DatabaseError);
      expect(() => gateway.engine.approvals.decide(approval.id, bob, { decision: 'approve' })).toThrow(/already/);
    } finally {
      await client.end();
    }
  });

  it('cancels the approval when the client sends a CancelRequest, answering 57014 without running anything', async () => {
    const client = await gateway.connect();
    try {
      const requested = nextRequest();
      const update = client.query('UPDATE items SET qty = 100 WHERE id = 2').catch((caught: pg.DatabaseError) => caught);
      const approval = await requested;
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      await new Promise<void>((resolve) => {
        const socket = connect({ host: gateway.host, port: gateway.port }, () => socket.end(serialize.cancel(processID, secretKey)));
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
      const error = await update;
      expect((error as pg.DatabaseError).code).toBe('57014');
      expect(gateway.engine.approvals.get(approval.id)?.status).toBe('cancelled');
      expect((await client.query('SELECT qty FROM items WHERE id = 2')).rows[0].qty).toBe(2);
    } finally {
      await client.end();
    }
  });

  it('cancels the approval when the client disconnects while it waits', async () => {
    const client = await gateway.connect();
    client.on('error', () => {});
    const requested = nextRequest();
    void client.query('UPDATE items SET qty = 200 WHERE id = 4').catch(() => {});
    const approval = await requested;
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await eventually(async () => expect(gateway.engine.approvals.get(approval.id)?.status).toBe('cancelled'));
    expect(() => gateway.engine.approvals.decide(approval.id, alice, { decision: 'approve' })).toThrow(/cancelled/);
    expect(await count('SELECT qty AS n FROM items WHERE id = 4')).toBe(4);
  });

  it('grants the same statement for the session when approved for the session', async () => {
    const client = await gateway.connect();
    try {
      const requested = nextRequest();
      const first = client.query('UPDATE items SET qty = qty + 1 WHERE id = 5');
      const approval = await requested;
      gateway.engine.approvals.decide(approval.id, alice, { decision: 'approve', scope: 'session' });
      await first;
      // Same fingerprint, other constant: runs at once under the grant.
      await client.query('UPDATE items SET qty = qty + 1 WHERE id = 6');
      expect(gateway.engine.approvals.list({ status: 'pending' })).toHaveLength(0);
    } finally {
      await client.end();
    }
    expect(await count('SELECT qty AS n FROM items WHERE id = 6')).toBe(7);
  });
});

describe('approval expiry and quorum', () => {
  let strict: TestGateway;
  beforeAll(async () => {
    strict = await startTestGateway(db, { policy: POLICY, approvals: '{ timeout: 1s, quorum: 2 }' });
  });
  afterAll(async () => strict?.close());

  it('needs two distinct approvers, and ends as expired when they do not come', async () => {
    const client = await strict.connect();
    try {
      const requested = nextRequest(strict);
      const update = client.query('UPDATE items SET qty = -1 WHERE id = 7').catch((caught: pg.DatabaseError) => caught);
      const approval = await requested;
      expect((await strict.engine.approvals.decide(approval.id, alice, { decision: 'approve' })).status).toBe('pending');
      const error = await update;
      expect((error as pg.DatabaseError).code).toBe('42501');
      expect((error as pg.DatabaseError).message).toMatch(new RegExp(`approval ${approval.id} expired`));
      expect(strict.engine.approvals.get(approval.id)?.status).toBe('expired');
      expect((await client.query('SELECT qty FROM items WHERE id = 7')).rows[0].qty).toBe(7);
    } finally {
      await client.end();
    }
  });

  it('runs once two distinct approvers approve', async () => {
    const client = await strict.connect();
    try {
      const requested = nextRequest(strict);
      const update = client.query('UPDATE items SET qty = 70 WHERE id = 7');
      const approval = await requested;
      strict.engine.approvals.decide(approval.id, alice, { decision: 'approve' });
      expect(() => strict.engine.approvals.decide(approval.id, alice, { decision: 'approve' })).toThrow();
      strict.engine.approvals.decide(approval.id, bob, { decision: 'approve' });
      expect((await update).rowCount).toBe(1);
    } finally {
      await client.end();
    }
  });
});
