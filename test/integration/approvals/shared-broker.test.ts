import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pendingApproval, SHUTDOWN_CAUSE } from '../../../proxy/approvals/approval-rules.js';
import { ApprovalError, type ApprovalOutcome, type ApprovalRequest } from '../../../proxy/approvals/approval-types.js';
import { insertApproval } from '../../../proxy/approvals/postgres/approval-rows.js';
import { openSharedApprovalBroker, type SharedApprovalBroker, type SharedApprovalBrokerOptions } from '../../../proxy/approvals/postgres/shared-approval-broker.js';
import { STATIC_TOKEN_ISSUER } from '../../../proxy/identity/identity.js';
import { alice, bob, deployer, heldDelete as baseHeldDelete, HOUR, person, TEN_MINUTES } from '../../helpers/approval-fixtures.js';
import { eventually } from '../../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startCuttableProxy } from '../../helpers/cuttable-proxy.js';
import { CollectedRecording } from '../../helpers/collected-recording.js';

// Two brokers on one database are two gateways: A holds the statements, B is where an approver
// (API, desktop app) decides. Every test opens its own pair with gateway ids of its own.

/** The fixtures' held DELETE, with bound parameters and claims of every JSON type, to round-trip through the tables. */
function heldDelete(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return baseHeldDelete({
    requester: { subject: 'deploy', issuer: STATIC_TOKEN_ISSUER, method: 'token', groups: ['ci'], claims: { repository: 'acme/shop', run: 42, fork: false } },
    params: ['1', null],
    ...overrides,
  });
}

let db: TestDatabase;
const open: SharedApprovalBroker[] = [];
let pairs = 0;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((broker) => broker.close()));
});

afterAll(async () => {
  await db.drop();
});

async function openBroker(gatewayId: string, options: Partial<SharedApprovalBrokerOptions> = {}): Promise<SharedApprovalBroker> {
  const broker = await openSharedApprovalBroker({ connectionString: db.url, gatewayId, timeoutMs: TEN_MINUTES, quorum: 1, selfApproval: false, pollIntervalMs: 500, ...options });
  open.push(broker);
  return broker;
}

/** Gateways A and B; opened together, so their migrations race (the advisory lock serializes them). */
async function gateways(options: Partial<SharedApprovalBrokerOptions> = {}) {
  const n = ++pairs;
  const [a, b] = await Promise.all([openBroker(`gw-a${n}`, options), openBroker(`gw-b${n}`, options)]);
  return { a, b, recording: new CollectedRecording() };
}

async function refusal(decision: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await decision.then(
    () => expect.fail('expected the broker to refuse'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ApprovalError);
  const { code, message } = error as ApprovalError;
  return { code, message };
}

/** The outcome if it has settled, else 'pending'. */
function peek(outcome: Promise<ApprovalOutcome>): Promise<ApprovalOutcome | 'pending'> {
  return Promise.race([outcome, Promise.resolve('pending' as const)]);
}

async function row(id: string): Promise<{ status: string; gateway: string; executed_at: Date | null; votes: number }> {
  const client = await db.connect();
  const { rows } = await client.query(
    'SELECT status, gateway, executed_at, (SELECT count(*)::int FROM sluice.approval_votes WHERE approval_id = $1) AS votes FROM sluice.approvals WHERE id = $1',
    [id],
  );
  await client.end();
  return rows[0] as { status: string; gateway: string; executed_at: Date | null; votes: number };
}

/** B learns of A's request once its row is committed (milliseconds later); an approver acts on what they see. */
function seenOn(broker: SharedApprovalBroker, id: string): Promise<unknown> {
  return eventually(async () => broker.get(id) ?? expect.fail(`gateway has not seen approval ${id} yet`));
}

const finals = (recording: CollectedRecording) => recording.actions.filter((action) => ['approved', 'denied', 'expired', 'cancelled'].includes(action as string));

describe('shared approval broker (PostgreSQL, two gateways)', () => {
  it('shows a request held on A on B, and delivers B’s approval to A with the audit events', async () => {
    const { a, b, recording } = await gateways();
    const seenOnB: string[] = [];
    b.on('requested', (approval) => seenOnB.push(`requested ${approval.id} ${approval.status}`));
    b.on('decided', (approval) => seenOnB.push(`decided ${approval.id} ${approval.status}`));
    const decidedOnA: string[] = [];
    a.on('decided', (approval) => decidedOnA.push(`${approval.id} ${approval.status}`));

    const { approval, outcome } = a.request(heldDelete(), recording);
    const { id } = approval;
    expect(a.get(id)).toBe(approval);
    const onB = await eventually(async () => b.get(id) ?? expect.fail('B has not seen it yet'));
    expect(onB).toEqual(approval);
    // Approvers on B see which gateway holds the statement.
    expect(onB.gateway).toMatch(/^gw-a\d+$/);
    expect(b.list({ status: 'pending' }).map((listed) => listed.id)).toContain(id);
    expect(seenOnB).toEqual([`requested ${id} pending`]);
    expect(await peek(outcome)).toBe('pending');

    const decided = await b.decide(id, alice, { decision: 'approve', reason: 'maintenance window' });
    expect(decided).toMatchObject({ id, status: 'approved', reason: 'alice: maintenance window' });
    expect(decided.votes).toEqual([{ approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', reason: 'maintenance window', scope: 'once', at: decided.decidedAt }]);
    expect(b.get(id)).toBe(decided);
    const result = await outcome;
    expect(result).toEqual({ status: 'approved', approval: decided });
    expect(a.get(id)).toEqual(decided);
    expect(seenOnB).toEqual([`requested ${id} pending`, `decided ${id} approved`]);
    expect(decidedOnA).toEqual([`${id} approved`]);
    expect(recording.approvals).toEqual([
      { action: 'requested', id, statement_hash: 'a'.repeat(64), rule: 'hold-unbounded-writes', reasons: ['DELETE without WHERE'], expires_at: approval.expiresAt, quorum: 1 },
      { action: 'vote', id, approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', scope: 'once', reason: 'maintenance window' },
      { action: 'approved', id, by: ['alice'], reason: 'alice: maintenance window' },
    ]);
    expect(await row(id)).toMatchObject({ status: 'approved', gateway: expect.stringMatching(/^gw-a/), votes: 1 });
  });

  it('denies with the approver’s reason, and refuses a deny without one', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete(), recording);
    await seenOn(b, approval.id);
    expect(await refusal(b.decide(approval.id, bob, { decision: 'deny', reason: '   ' }))).toEqual({
      code: 'reason_required',
      message: `denying approval ${approval.id} needs a reason: say why, so the requester knows what to change`,
    });
    const denied = await b.decide(approval.id, bob, { decision: 'deny', reason: '  use a WHERE clause  ' });
    expect(await outcome).toEqual({ status: 'denied', approval: denied, reason: 'use a WHERE clause' });
    expect(recording.approvals.slice(1)).toEqual([
      { action: 'vote', id: approval.id, approver: { subject: 'bob', issuer: STATIC_TOKEN_ISSUER }, decision: 'deny', scope: 'once', reason: 'use a WHERE clause' },
      { action: 'denied', id: approval.id, by: ['bob'], reason: 'use a WHERE clause' },
    ]);
    expect(await refusal(a.decide(approval.id, alice, { decision: 'approve' }))).toEqual({
      code: 'not_pending',
      message: `approval ${approval.id} was already denied by bob: use a WHERE clause`,
    });
  });

  it('removes decided approvals past retention with their votes, and never a pending one', async () => {
    const { a, b, recording } = await gateways();
    const decided = a.request(heldDelete(), recording);
    await seenOn(b, decided.approval.id);
    await b.decide(decided.approval.id, bob, { decision: 'deny', reason: 'no' });
    await decided.outcome;
    const pending = a.request(heldDelete(), new CollectedRecording());
    await seenOn(b, pending.approval.id);
    // The database is this file's: earlier tests' decided approvals go too.
    const count = async (sql: string, params: unknown[] = []) => {
      const client = await db.connect();
      const { rows } = await client.query<{ n: number }>(sql, params);
      await client.end();
      return rows[0]!.n;
    };
    const decidedBefore = await count("SELECT count(*)::int AS n FROM sluice.approvals WHERE status <> 'pending'");
    expect(await b.prune(Date.now() - 60_000)).toBe(0);
    expect(await a.prune(Date.now() + 1_000)).toBe(decidedBefore);
    expect(await row(decided.approval.id)).toBeUndefined();
    expect(await row(pending.approval.id)).toMatchObject({ status: 'pending' });
    expect(await count('SELECT count(*)::int AS n FROM sluice.approval_votes WHERE approval_id = $1', [decided.approval.id])).toBe(0);
  });

  it('needs quorum distinct approvers across gateways, each counted once', async () => {
    const { a, b, recording } = await gateways({ quorum: 2 });
    const { approval, outcome } = a.request(heldDelete(), recording);
    const { id } = approval;
    const partial = await a.decide(id, alice, { decision: 'approve' });
    expect(partial).toMatchObject({ status: 'pending', quorum: 2 });
    expect(partial.votes).toHaveLength(1);
    expect(await refusal(b.decide(id, alice, { decision: 'approve' }))).toEqual({
      code: 'duplicate_vote',
      message: `alice already approved ${id}; it needs 1 more approval from a different approver`,
    });
    expect(await peek(outcome)).toBe('pending');
    const approved = await b.decide(id, bob, { decision: 'approve' });
    expect(approved.status).toBe('approved');
    expect((await outcome).status).toBe('approved');
    expect(recording.actions).toEqual(['requested', 'vote', 'vote', 'approved']);
    expect(recording.approvals[3]).toEqual({ action: 'approved', id, by: ['alice', 'bob'] });
    expect(await row(id)).toMatchObject({ status: 'approved', votes: 2 });
  });

  it('gives two approvers deciding at once on two gateways exactly one outcome', async () => {
    const { a, b } = await gateways();
    for (let round = 0; round < 10; round++) {
      const recording = new CollectedRecording();
      const { approval, outcome } = a.request(heldDelete(), recording);
      await seenOn(b, approval.id);
      const [onB, onA] = await Promise.allSettled([
        b.decide(approval.id, alice, { decision: 'approve' }),
        a.decide(approval.id, bob, { decision: 'deny', reason: 'not now' }),
      ]);
      const won = [onB, onA].filter((result) => result.status === 'fulfilled');
      const lost = [onB, onA].filter((result) => result.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0]!.reason as ApprovalError).code).toBe('not_pending');
      const winner = won[0]!.value;
      expect((await outcome).status).toBe(winner.status);
      expect(finals(recording)).toEqual([winner.status]);
      expect(await row(approval.id)).toMatchObject({ status: winner.status, votes: 1 });
    }
  });

  it('takes one vote when the same approver votes twice at once', async () => {
    const { a, b, recording } = await gateways({ quorum: 2 });
    const { approval } = a.request(heldDelete(), recording);
    await seenOn(b, approval.id);
    const results = await Promise.allSettled([a.decide(approval.id, alice, { decision: 'approve' }), b.decide(approval.id, alice, { decision: 'approve' })]);
    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result) => result.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(fulfilled[0]!.value).toMatchObject({ status: 'pending' });
    expect(rejected.map((result) => (result.reason as ApprovalError).code)).toEqual(['duplicate_vote']);
    expect(await row(approval.id)).toMatchObject({ status: 'pending', votes: 1 });
    await eventually(async () => expect(recording.actions).toEqual(['requested', 'vote']));
  });

  it('refuses self-approval unless configured', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete(), recording);
    await seenOn(b, approval.id);
    expect(await refusal(b.decide(approval.id, deployer, { decision: 'approve' }))).toEqual({
      code: 'self_approval',
      message: `deploy asked for approval ${approval.id} and cannot decide it: another approver must (approvals.self_approval is off)`,
    });
    expect(await peek(outcome)).toBe('pending');
    // The same name from another issuer is someone else.
    expect((await b.decide(approval.id, person('deploy', 'https://token.actions.githubusercontent.com'), { decision: 'approve' })).status).toBe('approved');

    const allowed = await gateways({ selfApproval: true });
    const pending = allowed.a.request(heldDelete(), allowed.recording);
    await seenOn(allowed.b, pending.approval.id);
    expect((await allowed.b.decide(pending.approval.id, deployer, { decision: 'approve' })).status).toBe('approved');
    expect((await pending.outcome).status).toBe('approved');
  });

  it('ends a request whose expiry on A races a decision on B exactly once', async () => {
    const timeoutMs = 300;
    const { a, b } = await gateways({ timeoutMs });
    const seen = new Set<string>();
    for (const offset of [-40, -15, -5, 0, 5, 15]) {
      const recording = new CollectedRecording();
      const { approval, outcome } = a.request(heldDelete(), recording);
      await new Promise((resolve) => setTimeout(resolve, timeoutMs + offset));
      const decision = await b.decide(approval.id, alice, { decision: 'approve' }).then(
        (decided) => decided.status,
        (error: unknown) => {
          expect(error).toBeInstanceOf(ApprovalError);
          expect(error).toMatchObject({ code: 'not_pending', message: `approval ${approval.id} expired after 300ms without a decision` });
          return 'expired' as const;
        },
      );
      const result = await outcome;
      expect(result.status).toBe(decision);
      expect(finals(recording)).toEqual([decision]);
      expect((await row(approval.id)).status).toBe(decision);
      await eventually(async () => expect(b.get(approval.id)?.status).toBe(decision));
      seen.add(decision);
    }
    expect(seen.has('expired')).toBe(true);
  });

  it('honours on A a session grant approved on B', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete({ sessionId: 'S-grant', sessionGrantMs: HOUR }), recording);
    await seenOn(b, approval.id);
    const approved = await b.decide(approval.id, alice, { decision: 'approve', scope: 'session' });
    expect(approved.grantedUntil).toBe(approved.decidedAt! + HOUR);
    await outcome;
    expect(a.sessionGrant('S-grant', 'delete from orders')).toMatchObject({ id: approval.id, grantedUntil: approved.grantedUntil });
    expect(a.sessionGrant('S-grant', 'delete from customers')).toBeUndefined();
    expect(a.sessionGrant('S-other', 'delete from orders')).toBeUndefined();
    expect(recording.approvals.at(-1)).toEqual({ action: 'approved', id: approval.id, by: ['alice'], granted_until: approved.grantedUntil });

    const once = a.request(heldDelete(), recording);
    await seenOn(b, once.approval.id);
    expect(await refusal(b.decide(once.approval.id, alice, { decision: 'approve', scope: 'session' }))).toMatchObject({ code: 'grant_not_allowed' });
  });

  it('records the single use of an approval once', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete(), recording);
    expect(() => a.executed(approval.id)).toThrow(`approval ${approval.id} is still pending (0 of 1 approvals)`);
    await seenOn(b, approval.id);
    await b.decide(approval.id, alice, { decision: 'approve' });
    await outcome;
    a.executed(approval.id);
    expect(() => a.executed(approval.id)).toThrow(`approval ${approval.id} was already used`);
    const executedAt = a.get(approval.id)?.executedAt;
    expect(executedAt).toBeTypeOf('number');
    await eventually(async () => expect((await row(approval.id)).executed_at?.getTime()).toBe(executedAt));
    await eventually(async () => expect(b.get(approval.id)?.executedAt).toBe(executedAt));
    expect(() => b.executed(approval.id)).toThrow(`approval ${approval.id} was already used`);
    expect(recording.actions).toEqual(['requested', 'vote', 'approved', 'executed']);
  });

  it('fails closed while A cannot reach the database, and recovers once it can', async () => {
    const proxy = await startCuttableProxy({ host: db.host, port: db.port });
    try {
      const url = new URL(db.url);
      url.port = String(proxy.port);
      const a = await openBroker('gw-cut-a', { connectionString: url.toString(), maxBackoffMs: 200 });
      const b = await openBroker('gw-cut-b');
      // Held before the cut, decided on B during it: A learns the outcome once it is back.
      const before = new CollectedRecording();
      const held = a.request(heldDelete(), before);
      await seenOn(b, held.approval.id);

      proxy.cut();
      // Before A noticed the loss, the request's own insert fails; after, it is refused at once.
      const early = await a.request(heldDelete(), new CollectedRecording()).outcome;
      expect(early).toMatchObject({ status: 'cancelled', reason: expect.stringContaining('the shared approval database is unreachable from gateway gw-cut-a') });
      await eventually(async () => expect(a.connected).toBe(false));
      const recording = new CollectedRecording();
      const refused = a.request(heldDelete(), recording);
      const result = await refused.outcome;
      expect(result.status).toBe('cancelled');
      expect(result.status === 'cancelled' && result.reason).toMatch(
        new RegExp(`^approval ${refused.approval.id} could not be requested: the shared approval database is unreachable from gateway gw-cut-a \\(.+\\); the statement did not run, retry once the database is back$`),
      );
      expect(recording.actions).toEqual(['requested', 'cancelled']);
      await expect(a.decide(held.approval.id, alice, { decision: 'approve' })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/the shared approval database (is unreachable|failed)/) });
      await b.decide(held.approval.id, alice, { decision: 'approve' });
      expect(await peek(held.outcome)).toBe('pending');

      proxy.restore();
      await eventually(async () => expect(a.connected).toBe(true), 5_000);
      expect((await held.outcome).status).toBe('approved');
      expect(before.actions).toEqual(['requested', 'vote', 'approved']);
      const after = a.request(heldDelete(), new CollectedRecording());
      await seenOn(b, after.approval.id);
      await b.decide(after.approval.id, bob, { decision: 'approve' });
      expect((await after.outcome).status).toBe('approved');
    } finally {
      await proxy.close();
    }
  });

  it('cancels A’s pending requests when A closes, and B sees them cancelled', async () => {
    const { a, b, recording } = await gateways();
    const first = a.request(heldDelete(), recording);
    const second = a.request(heldDelete(), recording);
    const decided = a.request(heldDelete(), recording);
    await seenOn(b, decided.approval.id);
    await b.decide(decided.approval.id, alice, { decision: 'approve' });
    await decided.outcome;

    const closing = a.close();
    expect(await first.outcome).toMatchObject({ status: 'cancelled', reason: SHUTDOWN_CAUSE });
    expect(await second.outcome).toMatchObject({ status: 'cancelled', reason: SHUTDOWN_CAUSE });
    await closing;
    expect(a.connected).toBe(false);
    expect((await a.request(heldDelete(), recording).outcome).status).toBe('cancelled');
    for (const { approval } of [first, second]) {
      expect((await row(approval.id)).status).toBe('cancelled');
      await eventually(async () => expect(b.get(approval.id)).toMatchObject({ status: 'cancelled', reason: SHUTDOWN_CAUSE }));
      expect(await refusal(b.decide(approval.id, bob, { decision: 'approve' }))).toEqual({
        code: 'not_pending',
        message: `approval ${approval.id} was cancelled: ${SHUTDOWN_CAUSE}`,
      });
    }
    expect((await row(decided.approval.id)).status).toBe('approved');
  });

  it('cancels a held request when its client goes away, and B sees it cancelled', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete(), recording);
    await seenOn(b, approval.id);
    a.cancel(approval.id, 'the client disconnected');
    expect(await outcome).toMatchObject({ status: 'cancelled', reason: 'the client disconnected' });
    a.cancel(approval.id, 'again');
    expect(recording.approvals.slice(1)).toEqual([{ action: 'cancelled', id: approval.id, cause: 'the client disconnected' }]);
    await eventually(async () => expect(b.get(approval.id)).toMatchObject({ status: 'cancelled', reason: 'the client disconnected' }));
    expect((await row(approval.id)).status).toBe('cancelled');
  });

  it('learns an outcome it was not notified of by polling the requests it holds', async () => {
    const { a, b, recording } = await gateways();
    const { approval, outcome } = a.request(heldDelete(), recording);
    await seenOn(b, approval.id);
    // Decided behind the gateways' backs, without NOTIFY: as if A's listener had missed it.
    const client = await db.connect();
    const at = new Date();
    await client.query(
      "INSERT INTO sluice.approval_votes (approval_id, approver_subject, approver_issuer, decision, scope, at) VALUES ($1, 'carol', 'sluice:token', 'approve', 'once', $2)",
      [approval.id, at],
    );
    await client.query("UPDATE sluice.approvals SET status = 'approved', decided_at = $2, version = version + 1 WHERE id = $1", [approval.id, at]);
    await client.end();
    expect(await outcome).toMatchObject({ status: 'approved', approval: { decidedAt: at.getTime() } });
    expect(recording.approvals.slice(1)).toEqual([
      { action: 'vote', id: approval.id, approver: { subject: 'carol', issuer: 'sluice:token' }, decision: 'approve', scope: 'once' },
      { action: 'approved', id: approval.id, by: ['carol'] },
    ]);
  });

  it('expires a pending request whose holder is gone, and cancels what a gateway held before it restarted', async () => {
    const client = await db.connect();
    const now = Date.now();
    await insertApproval(client, pendingApproval(heldDelete(), 'ORPHAN-GONE', now - 5_000, 1_000, 1), 'gw-gone');
    await insertApproval(client, pendingApproval(heldDelete(), 'ORPHAN-RESTARTED', now, TEN_MINUTES, 1), 'gw-restarted');
    await client.end();

    const sweeper = await openBroker('gw-sweeper');
    await eventually(async () => expect(sweeper.get('ORPHAN-GONE')).toMatchObject({ status: 'expired', reason: 'approval ORPHAN-GONE expired after 1s without a decision' }));
    expect(sweeper.get('ORPHAN-RESTARTED')?.status).toBe('pending');

    const restarted = await openBroker('gw-restarted');
    expect(restarted.get('ORPHAN-RESTARTED')).toMatchObject({ status: 'cancelled', reason: expect.stringMatching(/^the gateway holding it restarted/) });
    await eventually(async () => expect(sweeper.get('ORPHAN-RESTARTED')?.status).toBe('cancelled'));
  });

  it('delivers a decision made on B to the holder on A within milliseconds', async () => {
    const { a, b } = await gateways();
    const total: number[] = [];
    const afterCommit: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { approval, outcome } = a.request(heldDelete(), new CollectedRecording());
      await seenOn(b, approval.id);
      let resolvedAt = 0;
      void outcome.then(() => (resolvedAt = performance.now()));
      const start = performance.now();
      await b.decide(approval.id, alice, { decision: 'approve' });
      const committed = performance.now();
      await outcome;
      total.push(resolvedAt - start);
      afterCommit.push(resolvedAt - committed);
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;
    const max = (values: number[]) => Math.max(...values);
    console.info(
      `decide() called on B -> outcome on A: median ${median(total).toFixed(1)} ms, max ${max(total).toFixed(1)} ms; ` +
        `decide() resolved on B -> outcome on A: median ${median(afterCommit).toFixed(1)} ms, max ${max(afterCommit).toFixed(1)} ms (20 runs)`,
    );
    expect(median(total)).toBeLessThan(250);
  });

  it('migrates the tables once, and refuses tables a newer Sluice migrated', async () => {
    await Promise.all([openBroker('gw-schema'), openBroker('gw-schema-b')]);
    const client = await db.connect();
    expect((await client.query('SELECT version, name FROM sluice.approval_migrations ORDER BY version')).rows).toEqual([{ version: 1, name: 'approvals and votes' }]);
    await client.query("INSERT INTO sluice.approval_migrations (version, name) VALUES (99, 'from the future')");
    try {
      await expect(openBroker('gw-schema-2')).rejects.toThrow(/schema version 99, but this build of Sluice knows versions up to 1/);
    } finally {
      await client.query('DELETE FROM sluice.approval_migrations WHERE version = 99');
      await client.end();
    }
  });
});

