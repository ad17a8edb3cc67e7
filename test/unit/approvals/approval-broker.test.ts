import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApprovalBroker, SHUTDOWN_CAUSE, type ApprovalBrokerOptions } from '../../../proxy/approvals/approval-broker.js';
import {
  ApprovalError,
  type Approval,
  type ApprovalErrorCode,
  type ApprovalOutcome,
} from '../../../proxy/approvals/approval-types.js';
import { isUlid } from '../../../proxy/audit/ulid.js';
import { STATIC_TOKEN_ISSUER } from '../../../proxy/identity/identity.js';
import { alice, bob, deployer, heldDelete, HOUR, person, TEN_MINUTES } from '../../helpers/approval-fixtures.js';
import { CollectedRecording } from '../../helpers/collected-recording.js';

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function setup(options: Partial<ApprovalBrokerOptions> = {}) {
  let next = 0;
  const broker = createApprovalBroker({ timeoutMs: TEN_MINUTES, quorum: 1, selfApproval: false, newId: () => `A${++next}`, ...options });
  const recording = new CollectedRecording();
  return { broker, recording };
}

/** The outcome if it has settled, else 'pending' (a settled promise wins the race). */
function peek(outcome: Promise<ApprovalOutcome>): Promise<ApprovalOutcome | 'pending'> {
  return Promise.race([outcome, Promise.resolve('pending' as const)]);
}

function refusal(run: () => unknown): { code: ApprovalErrorCode; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApprovalError);
    const { code, message } = error as ApprovalError;
    return { code, message };
  }
  throw new Error('expected the broker to refuse');
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('approval broker', () => {
  it('holds a request as pending until one approver approves it', async () => {
    const { broker, recording } = setup();
    const { approval, outcome } = broker.request(heldDelete(), recording);
    expect(approval).toMatchObject({ id: 'A1', status: 'pending', requestedAt: T0, expiresAt: T0 + TEN_MINUTES, quorum: 1, votes: [] });
    expect(approval.statement).toBe('DELETE FROM orders');
    expect(await peek(outcome)).toBe('pending');

    vi.advanceTimersByTime(1_000);
    const decided = broker.decide('A1', alice, { decision: 'approve', reason: 'maintenance window' });
    expect(decided).toMatchObject({ status: 'approved', decidedAt: T0 + 1_000, reason: 'alice: maintenance window' });
    expect(decided.votes).toEqual([
      { approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', reason: 'maintenance window', scope: 'once', at: T0 + 1_000 },
    ]);
    expect(decided.grantedUntil).toBeUndefined();
    expect(await outcome).toEqual({ status: 'approved', approval: decided });
    expect(broker.get('A1')).toBe(decided);
    expect(recording.approvals).toEqual([
      {
        action: 'requested',
        id: 'A1',
        statement_hash: 'a'.repeat(64),
        rule: 'hold-unbounded-writes',
        reasons: ['DELETE without WHERE'],
        expires_at: T0 + TEN_MINUTES,
        quorum: 1,
      },
      { action: 'vote', id: 'A1', approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', scope: 'once', reason: 'maintenance window' },
      { action: 'approved', id: 'A1', by: ['alice'], reason: 'alice: maintenance window' },
    ]);
  });

  it('refuses a deny without a reason, and the request stays pending', async () => {
    const { broker, recording } = setup();
    const { outcome } = broker.request(heldDelete(), recording);
    for (const reason of [undefined, '', '   \n']) {
      expect(refusal(() => broker.decide('A1', bob, { decision: 'deny', ...(reason !== undefined && { reason }) }))).toEqual({
        code: 'reason_required',
        message: 'denying approval A1 needs a reason: say why, so the requester knows what to change',
      });
    }
    expect(broker.get('A1')?.status).toBe('pending');
    expect(broker.get('A1')?.votes).toEqual([]);
    expect(await peek(outcome)).toBe('pending');
    expect(recording.actions).toEqual(['requested']);
  });

  it('denies at once on one deny, and the outcome carries the reason', async () => {
    const { broker, recording } = setup({ quorum: 2 });
    const { outcome } = broker.request(heldDelete(), recording);
    broker.decide('A1', alice, { decision: 'approve' });
    const denied = broker.decide('A1', bob, { decision: 'deny', reason: '  use a WHERE clause  ' });
    expect(denied).toMatchObject({ status: 'denied', reason: 'use a WHERE clause', decidedAt: T0 });
    expect(await outcome).toEqual({ status: 'denied', approval: denied, reason: 'use a WHERE clause' });
    expect(recording.approvals.slice(1)).toEqual([
      { action: 'vote', id: 'A1', approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', scope: 'once' },
      { action: 'vote', id: 'A1', approver: { subject: 'bob', issuer: STATIC_TOKEN_ISSUER }, decision: 'deny', scope: 'once', reason: 'use a WHERE clause' },
      { action: 'denied', id: 'A1', by: ['bob'], reason: 'use a WHERE clause' },
    ]);
  });

  it('refuses self-approval unless configured, matching subject and issuer', async () => {
    const { broker, recording } = setup();
    const { outcome } = broker.request(heldDelete(), recording);
    expect(refusal(() => broker.decide('A1', deployer, { decision: 'approve' }))).toEqual({
      code: 'self_approval',
      message: 'deploy asked for approval A1 and cannot decide it: another approver must (approvals.self_approval is off)',
    });
    expect(refusal(() => broker.decide('A1', deployer, { decision: 'deny', reason: 'oops' })).code).toBe('self_approval');
    expect(await peek(outcome)).toBe('pending');
    // The same name from another issuer is someone else.
    expect(broker.decide('A1', person('deploy', 'https://token.actions.githubusercontent.com'), { decision: 'approve' }).status).toBe('approved');

    const allowed = setup({ selfApproval: true });
    const pending = allowed.broker.request(heldDelete(), allowed.recording);
    expect(allowed.broker.decide('A1', deployer, { decision: 'approve' }).status).toBe('approved');
    expect((await pending.outcome).status).toBe('approved');
  });

  it('needs quorum distinct approvers: a second vote by the same approver is refused', async () => {
    const { broker, recording } = setup({ quorum: 2 });
    const decided: Approval[] = [];
    broker.on('decided', (approval) => decided.push(approval));
    const { outcome } = broker.request(heldDelete(), recording);

    const partial = broker.decide('A1', alice, { decision: 'approve' });
    expect(partial.status).toBe('pending');
    expect(partial.votes).toHaveLength(1);
    expect(refusal(() => broker.decide('A1', alice, { decision: 'approve' }))).toEqual({
      code: 'duplicate_vote',
      message: 'alice already approved A1; it needs 1 more approval from a different approver',
    });
    expect(await peek(outcome)).toBe('pending');
    expect(decided).toEqual([]);

    const approved = broker.decide('A1', bob, { decision: 'approve' });
    expect(approved.status).toBe('approved');
    expect(approved.votes.map((vote) => vote.approver.subject)).toEqual(['alice', 'bob']);
    expect(await outcome).toEqual({ status: 'approved', approval: approved });
    expect(decided).toEqual([approved]);
    expect(recording.actions).toEqual(['requested', 'vote', 'vote', 'approved']);
    expect(recording.approvals[3]).toEqual({ action: 'approved', id: 'A1', by: ['alice', 'bob'] });
  });

  it('refuses to decide an unknown or already decided approval, saying what happened', () => {
    const { broker, recording } = setup();
    expect(refusal(() => broker.decide('nope', alice, { decision: 'approve' }))).toEqual({
      code: 'not_found',
      message: 'there is no approval nope: it never existed or has left the history',
    });
    broker.request(heldDelete(), recording);
    broker.decide('A1', alice, { decision: 'approve' });
    expect(refusal(() => broker.decide('A1', bob, { decision: 'approve' }))).toEqual({ code: 'not_pending', message: 'approval A1 was already approved by alice' });
    expect(refusal(() => broker.decide('A1', bob, { decision: 'deny', reason: 'late' })).code).toBe('not_pending');

    broker.request(heldDelete(), recording);
    broker.decide('A2', bob, { decision: 'deny', reason: 'not today' });
    expect(refusal(() => broker.decide('A2', alice, { decision: 'approve' }))).toEqual({
      code: 'not_pending',
      message: 'approval A2 was already denied by bob: not today',
    });
    expect(recording.actions).toEqual(['requested', 'vote', 'approved', 'requested', 'vote', 'denied']);
  });

  it('expires a request nobody decided, once, and refuses later decisions', async () => {
    const { broker, recording } = setup();
    const decided: Approval[] = [];
    broker.on('decided', (approval) => decided.push(approval));
    const { outcome } = broker.request(heldDelete(), recording);

    vi.advanceTimersByTime(TEN_MINUTES - 1);
    expect(await peek(outcome)).toBe('pending');
    vi.advanceTimersByTime(1);
    const reason = 'approval A1 expired after 10m without a decision';
    const expired = broker.get('A1')!;
    expect(expired).toMatchObject({ status: 'expired', reason, decidedAt: T0 + TEN_MINUTES });
    expect(await outcome).toEqual({ status: 'expired', approval: expired, reason });
    expect(decided).toEqual([expired]);
    expect(refusal(() => broker.decide('A1', alice, { decision: 'approve' }))).toEqual({ code: 'not_pending', message: reason });

    broker.cancel('A1', 'client disconnected');
    vi.advanceTimersByTime(HOUR);
    expect(recording.approvals.slice(1)).toEqual([{ action: 'expired', id: 'A1', reason }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts no decision made at or after the deadline, even before the timer fires', async () => {
    let now = T0;
    const { broker, recording } = setup({ now: () => now, timeoutMs: 90_000 });
    const { outcome } = broker.request(heldDelete(), recording);
    now += 90_000; // the clock moved, the timer has not run yet
    expect(refusal(() => broker.decide('A1', alice, { decision: 'approve' }))).toEqual({
      code: 'not_pending',
      message: 'approval A1 expired after 90s without a decision',
    });
    expect((await outcome).status).toBe('expired');
    expect(recording.actions).toEqual(['requested', 'expired']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits out timeouts longer than a setTimeout can hold', async () => {
    const thirtyDays = 30 * 86_400_000;
    const { broker, recording } = setup({ timeoutMs: thirtyDays });
    const { outcome } = broker.request(heldDelete(), recording);
    // Node would fire a longer setTimeout after 1 ms; the broker waits in steps instead.
    vi.advanceTimersToNextTimer();
    expect(Date.now()).toBe(T0 + 2 ** 31 - 1);
    expect(await peek(outcome)).toBe('pending');
    vi.advanceTimersToNextTimer();
    expect(Date.now()).toBe(T0 + thirtyDays);
    expect(await outcome).toMatchObject({ status: 'expired', reason: 'approval A1 expired after 30d without a decision' });
  });

  it('cancels a pending request once; cancelling anything else does nothing', async () => {
    const { broker, recording } = setup();
    const { outcome } = broker.request(heldDelete(), recording);
    broker.cancel('A1', 'the client disconnected');
    const cancelled = broker.get('A1')!;
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'the client disconnected', decidedAt: T0 });
    expect(await outcome).toEqual({ status: 'cancelled', approval: cancelled, reason: 'the client disconnected' });
    broker.cancel('A1', 'again');
    broker.cancel('unknown', 'whatever');
    expect(refusal(() => broker.decide('A1', alice, { decision: 'approve' }))).toEqual({
      code: 'not_pending',
      message: 'approval A1 was cancelled: the client disconnected',
    });

    broker.request(heldDelete(), recording);
    broker.decide('A2', alice, { decision: 'approve' });
    broker.cancel('A2', 'the client disconnected');
    expect(broker.get('A2')?.status).toBe('approved');
    expect(recording.approvals.filter((event) => event['action'] === 'cancelled')).toEqual([
      { action: 'cancelled', id: 'A1', cause: 'the client disconnected' },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets an approval be executed once', () => {
    const { broker, recording } = setup();
    broker.request(heldDelete(), recording);
    expect(refusal(() => broker.executed('A1'))).toEqual({ code: 'not_pending', message: 'approval A1 is still pending (0 of 1 approvals)' });
    broker.decide('A1', alice, { decision: 'approve' });
    vi.advanceTimersByTime(250);
    broker.executed('A1');
    expect(broker.get('A1')).toMatchObject({ status: 'approved', executedAt: T0 + 250 });
    expect(refusal(() => broker.executed('A1'))).toEqual({ code: 'not_pending', message: 'approval A1 was already used' });
    expect(refusal(() => broker.executed('A9')).code).toBe('not_found');

    broker.request(heldDelete(), recording);
    broker.decide('A2', alice, { decision: 'deny', reason: 'no' });
    expect(refusal(() => broker.executed('A2')).message).toBe('approval A2 was already denied by alice: no');
    expect(recording.actions).toEqual(['requested', 'vote', 'approved', 'executed', 'requested', 'vote', 'denied']);
    expect(recording.approvals[3]).toEqual({ action: 'executed', id: 'A1' });
  });

  it('grants a fingerprint for the session until the grant runs out', async () => {
    const { broker, recording } = setup();
    const seenByListener: (Approval | undefined)[] = [];
    broker.on('decided', () => seenByListener.push(broker.sessionGrant('S1', 'delete from orders')));
    broker.request(heldDelete({ sessionGrantMs: HOUR }), recording);
    vi.advanceTimersByTime(5_000);
    const approved = broker.decide('A1', alice, { decision: 'approve', scope: 'session' });
    expect(seenByListener).toEqual([approved]);
    expect(approved).toMatchObject({ status: 'approved', grantedUntil: T0 + 5_000 + HOUR });
    expect(recording.approvals.at(-1)).toEqual({ action: 'approved', id: 'A1', by: ['alice'], granted_until: T0 + 5_000 + HOUR });

    broker.executed('A1');
    // The grant outlives the single use of the statement that was held.
    expect(broker.sessionGrant('S1', 'delete from orders')).toMatchObject({ id: 'A1', executedAt: T0 + 5_000 });
    expect(broker.sessionGrant('S1', 'delete from customers')).toBeUndefined();
    expect(broker.sessionGrant('S2', 'delete from orders')).toBeUndefined();
    vi.advanceTimersByTime(HOUR - 1);
    expect(broker.sessionGrant('S1', 'delete from orders')?.id).toBe('A1');
    vi.advanceTimersByTime(1);
    expect(broker.sessionGrant('S1', 'delete from orders')).toBeUndefined();
  });

  it('refuses a session grant the rule does not allow', async () => {
    const { broker, recording } = setup();
    const { outcome } = broker.request(heldDelete(), recording);
    expect(refusal(() => broker.decide('A1', alice, { decision: 'approve', scope: 'session' }))).toEqual({
      code: 'grant_not_allowed',
      message: "approval A1 cannot be granted for the session: rule hold-unbounded-writes allows one-time approval only; approve with scope 'once'",
    });
    expect(await peek(outcome)).toBe('pending');
    expect(broker.decide('A1', alice, { decision: 'approve', scope: 'once' }).status).toBe('approved');
    expect(broker.sessionGrant('S1', 'delete from orders')).toBeUndefined();
  });

  it('grants for the session only when every counted approver asked for it', () => {
    const { broker, recording } = setup({ quorum: 2 });
    broker.request(heldDelete({ sessionGrantMs: HOUR }), recording);
    broker.decide('A1', alice, { decision: 'approve', scope: 'session' });
    const once = broker.decide('A1', bob, { decision: 'approve' });
    expect(once.status).toBe('approved');
    expect(once.grantedUntil).toBeUndefined();
    expect(broker.sessionGrant('S1', 'delete from orders')).toBeUndefined();

    broker.request(heldDelete({ sessionGrantMs: HOUR }), recording);
    broker.decide('A2', alice, { decision: 'approve', scope: 'session' });
    expect(broker.decide('A2', bob, { decision: 'approve', scope: 'session' }).grantedUntil).toBe(T0 + HOUR);
    expect(broker.sessionGrant('S1', 'delete from orders')?.id).toBe('A2');
  });

  it('tells listeners about requests and final decisions; a throwing listener breaks nothing', async () => {
    const { broker, recording } = setup({ quorum: 2 });
    const seen: string[] = [];
    broker.on('requested', () => {
      throw new Error('listener bug');
    });
    broker.on('decided', () => Promise.reject(new Error('async listener bug')));
    broker.on('requested', (approval) => seen.push(`requested ${approval.id} ${approval.status}`));
    const stop = broker.on('decided', (approval) => seen.push(`decided ${approval.id} ${approval.status}`));

    const first = broker.request(heldDelete(), recording);
    broker.decide('A1', alice, { decision: 'approve' });
    broker.decide('A1', bob, { decision: 'approve' });
    stop();
    broker.request(heldDelete(), recording);
    broker.cancel('A2', 'the client disconnected');

    expect(seen).toEqual(['requested A1 pending', 'decided A1 approved', 'requested A2 pending']);
    expect((await first.outcome).status).toBe('approved');
  });

  it('cancels every pending request on close, and any request after it', async () => {
    const { broker, recording } = setup();
    const decided: string[] = [];
    broker.on('decided', (approval) => decided.push(`${approval.id} ${approval.status}`));
    const first = broker.request(heldDelete(), recording);
    const second = broker.request(heldDelete(), recording);
    broker.request(heldDelete(), recording);
    broker.decide('A3', alice, { decision: 'approve' });
    expect(vi.getTimerCount()).toBe(2);

    broker.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(await first.outcome).toMatchObject({ status: 'cancelled', reason: SHUTDOWN_CAUSE });
    expect(await second.outcome).toMatchObject({ status: 'cancelled', reason: 'the gateway is shutting down' });
    expect(broker.get('A3')?.status).toBe('approved');
    expect(decided).toEqual(['A3 approved', 'A1 cancelled', 'A2 cancelled']);

    const late = broker.request(heldDelete(), recording);
    expect(await late.outcome).toMatchObject({ status: 'cancelled', reason: SHUTDOWN_CAUSE });
    expect(recording.approvals.filter((event) => event['action'] === 'cancelled').map((event) => event['id'])).toEqual(['A1', 'A2', 'A4']);
    expect(recording.approvals.filter((event) => event['id'] === 'A4').map((event) => event['action'])).toEqual(['requested', 'cancelled']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('records every step of a two-approver session grant in order', () => {
    const { broker, recording } = setup({ quorum: 2 });
    broker.request(heldDelete({ sessionGrantMs: HOUR }), recording);
    vi.advanceTimersByTime(1_000);
    broker.decide('A1', alice, { decision: 'approve', scope: 'session', reason: 'migration' });
    vi.advanceTimersByTime(1_000);
    broker.decide('A1', bob, { decision: 'approve', scope: 'session' });
    broker.executed('A1');
    expect(recording.approvals).toEqual([
      {
        action: 'requested',
        id: 'A1',
        statement_hash: 'a'.repeat(64),
        rule: 'hold-unbounded-writes',
        reasons: ['DELETE without WHERE'],
        expires_at: T0 + TEN_MINUTES,
        quorum: 2,
      },
      { action: 'vote', id: 'A1', approver: { subject: 'alice', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', scope: 'session', reason: 'migration' },
      { action: 'vote', id: 'A1', approver: { subject: 'bob', issuer: STATIC_TOKEN_ISSUER }, decision: 'approve', scope: 'session' },
      { action: 'approved', id: 'A1', by: ['alice', 'bob'], reason: 'alice: migration', granted_until: T0 + 2_000 + HOUR },
      { action: 'executed', id: 'A1' },
    ]);
  });

  it('hands out frozen snapshots that no caller can change', () => {
    const { broker, recording } = setup();
    const request = heldDelete({ params: ['1'] });
    const { approval } = broker.request(request, recording);
    (request.reasons as string[]).push('added later');
    (request.requester.claims as Record<string, string>)['repository'] = 'evil/fork';
    expect(() => ((approval as { status: string }).status = 'approved')).toThrow(TypeError);
    expect(() => (approval.votes as unknown[]).push({})).toThrow(TypeError);
    expect(() => (approval.history as string[]).push('x')).toThrow(TypeError);
    expect(() => (approval.requester.groups as string[]).push('x')).toThrow(TypeError);
    expect(() => ((approval.requester.claims as Record<string, string>)['repository'] = 'x')).toThrow(TypeError);

    const decided = broker.decide('A1', alice, { decision: 'approve' });
    expect(() => ((decided.votes[0]!.approver as { subject: string }).subject = 'mallory')).toThrow(TypeError);
    const stored = broker.get('A1')!;
    expect(stored.status).toBe('approved');
    expect(stored.reasons).toEqual(['DELETE without WHERE']);
    expect(stored.requester.claims).toEqual({ repository: 'acme/shop' });
    expect(stored.votes[0]?.approver.subject).toBe('alice');
    expect(approval.status).toBe('pending'); // an earlier snapshot stays as it was
  });

  it('lists newest first, by status, and keeps bounded history but every pending request', () => {
    const { broker, recording } = setup({ historyLimit: 2 });
    for (let i = 0; i < 5; i++) broker.request(heldDelete(), recording);
    broker.decide('A1', alice, { decision: 'approve' });
    broker.decide('A3', alice, { decision: 'deny', reason: 'no' });
    expect(broker.list().map((approval) => approval.id)).toEqual(['A5', 'A4', 'A3', 'A2', 'A1']);
    expect(broker.list({ status: 'pending' }).map((approval) => approval.id)).toEqual(['A5', 'A4', 'A2']);
    expect(broker.list({ limit: 2 }).map((approval) => approval.id)).toEqual(['A5', 'A4']);

    broker.cancel('A4', 'the client disconnected');
    expect(broker.get('A1')).toBeUndefined(); // the oldest decision left the history
    expect(broker.list().map((approval) => `${approval.id} ${approval.status}`)).toEqual(['A5 pending', 'A4 cancelled', 'A3 denied', 'A2 pending']);
    expect(refusal(() => broker.decide('A1', bob, { decision: 'approve' })).code).toBe('not_found');
  });

  it('makes unguessable, URL-safe ids by default', () => {
    const broker = createApprovalBroker({ timeoutMs: TEN_MINUTES, quorum: 1, selfApproval: false });
    const recording = new CollectedRecording();
    const ids = Array.from({ length: 50 }, () => broker.request(heldDelete(), recording).approval.id);
    expect(ids.every(isUlid)).toBe(true);
    // Same millisecond (fake time stands still), yet the random parts are not consecutive.
    expect(new Set(ids.map((id) => id.slice(10, 20))).size).toBe(50);
    broker.close();
  });

  it('refuses options that cannot work', () => {
    expect(() => createApprovalBroker({ timeoutMs: 0, quorum: 1, selfApproval: false })).toThrow(RangeError);
    expect(() => createApprovalBroker({ timeoutMs: TEN_MINUTES, quorum: 0, selfApproval: false })).toThrow(RangeError);
    expect(() => createApprovalBroker({ timeoutMs: TEN_MINUTES, quorum: 1.5, selfApproval: false })).toThrow(RangeError);
  });
});
