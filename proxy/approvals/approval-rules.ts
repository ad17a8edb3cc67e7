import { ulidFactory } from '../audit/ulid.js';
import { assertNever } from '../common/assert-never.js';
import { formatDuration } from '../config/units.js';
import { freezeApproval, freezeVote, snapshotRequest } from './approval-snapshot.js';
import {
  ApprovalError,
  type Approval,
  type ApprovalListQuery,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalVote,
  type DecideInput,
} from './approval-types.js';

// The rules every broker applies, whatever holds its state (memory, PostgreSQL): who may vote,
// when a vote decides, what the outcome and the recorded events say. Pure functions of an
// approval's state, so two brokers cannot drift apart in what they allow or how they word it.

export const SHUTDOWN_CAUSE = 'the gateway is shutting down';
export const DEFAULT_HISTORY_LIMIT = 1_000;
const DEFAULT_LIST_LIMIT = 100;
// Node fires a setTimeout with a longer delay (~24.8 days) at once, so long waits re-arm in steps.
export const MAX_TIMER_MS = 2 ** 31 - 1;

export type Party = { readonly subject: string; readonly issuer: string };
export type FinalStatus = Exclude<ApprovalStatus, 'pending'>;
export type ApprovalListener = (approval: Approval) => void;

/** What every broker is configured with (config `approvals.*`). */
export interface ApprovalRuleOptions {
  /** How long a request waits for a decision (config `approvals.timeout`). */
  readonly timeoutMs: number;
  /** Distinct approvers needed (config `approvals.quorum`). */
  readonly quorum: number;
  /** Whether the requester may decide their own request (config `approvals.self_approval`). */
  readonly selfApproval: boolean;
  /** Decided approvals kept for get/list (default 1,000). Pending ones are never dropped. */
  readonly historyLimit?: number;
}

/** Throws RangeError for options no broker can work with; returns the history limit to use. */
export function checkRuleOptions(options: ApprovalRuleOptions): number {
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new RangeError(`approval timeout must be a positive number of ms, not ${options.timeoutMs}`);
  }
  if (!Number.isInteger(options.quorum) || options.quorum < 1) throw new RangeError(`approval quorum must be an integer of at least 1, not ${options.quorum}`);
  const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isInteger(historyLimit) || historyLimit < 0) throw new RangeError(`approval history limit must be a whole number, not ${historyLimit}`);
  return historyLimit;
}

/**
 * A fresh generator per id: ulid.ts's shared one makes ids within one millisecond by adding 1 to
 * the previous random part, so one id would give away the next. Every id here has 80 fresh random
 * bits; list order comes from request order, not from the ids.
 */
export function randomUlid(): string {
  return ulidFactory()();
}

/** A new pending approval: a frozen copy of the request with its deadline and quorum. */
export function pendingApproval(request: ApprovalRequest, id: string, now: number, timeoutMs: number, quorum: number): Approval {
  return freezeApproval({
    ...snapshotRequest(request),
    id,
    status: 'pending',
    requestedAt: now,
    expiresAt: now + timeoutMs,
    quorum,
    votes: [],
  });
}

export function sameParty(a: Party, b: Party): boolean {
  return a.subject === b.subject && a.issuer === b.issuer;
}

/** How a pending approval ends: its new status and what the approval records about it. */
export interface Settlement {
  readonly status: FinalStatus;
  readonly reason: string | undefined;
  readonly grantedUntil?: number | undefined;
}

export interface CastVote {
  readonly vote: ApprovalVote;
  /** Set when this vote decides the approval. */
  readonly settlement?: Settlement;
}

/**
 * Checks one approver's vote against an approval's current state and says what it does, or
 * throws the ApprovalError the approver sees. The caller has already expired an approval whose
 * deadline passed (a decision at or after expiresAt never counts).
 */
export function castVote(current: Approval, approver: Party, input: DecideInput, at: number, selfApproval: boolean): CastVote {
  const { id } = current;
  if (current.status !== 'pending') throw new ApprovalError('not_pending', notPendingMessage(current));
  const who: Party = { subject: approver.subject, issuer: approver.issuer };
  if (!selfApproval && sameParty(who, current.requester)) {
    throw new ApprovalError('self_approval', `${who.subject} asked for approval ${id} and cannot decide it: another approver must (approvals.self_approval is off)`);
  }
  const reason = input.reason?.trim() || undefined;

  if (input.decision === 'deny') {
    if (reason === undefined) throw new ApprovalError('reason_required', `denying approval ${id} needs a reason: say why, so the requester knows what to change`);
    // A deny has no grant to scope.
    return { vote: freezeVote({ approver: who, decision: 'deny', reason, scope: 'once', at }), settlement: { status: 'denied', reason } };
  }

  const scope = input.scope ?? 'once';
  if (scope === 'session' && !((current.sessionGrantMs ?? 0) > 0)) {
    throw new ApprovalError('grant_not_allowed', `approval ${id} cannot be granted for the session: rule ${current.rule} allows one-time approval only; approve with scope 'once'`);
  }
  const approvals = current.votes.filter((vote) => vote.decision === 'approve');
  if (approvals.some((vote) => sameParty(vote.approver, who))) throw duplicateVote(current, who);
  const vote = freezeVote({ approver: who, decision: 'approve', ...(reason !== undefined && { reason }), scope, at });
  approvals.push(vote);
  if (approvals.length < current.quorum) return { vote };

  // A session grant is broader than one statement, so every approver counted must have agreed to it.
  const grantMs = approvals.every((v) => v.scope === 'session') ? current.sessionGrantMs : undefined;
  const reasons = approvals.filter((v) => v.reason !== undefined).map((v) => `${v.approver.subject}: ${v.reason}`);
  return {
    vote,
    settlement: { status: 'approved', reason: reasons.length > 0 ? reasons.join('; ') : undefined, grantedUntil: grantMs === undefined ? undefined : at + grantMs },
  };
}

/** The refusal for an approver who already approved (also what a unique-constraint hit means). */
export function duplicateVote(current: Approval, who: Party): ApprovalError {
  const approvals = current.votes.filter((vote) => vote.decision === 'approve' && !sameParty(vote.approver, who)).length + 1;
  const missing = current.quorum - approvals;
  return new ApprovalError('duplicate_vote', `${who.subject} already approved ${current.id}; it needs ${missing} more approval${missing === 1 ? '' : 's'} from a different approver`);
}

export function withVote(approval: Approval, vote: ApprovalVote): Approval {
  return freezeApproval({ ...approval, votes: [...approval.votes, vote] });
}

export function settled(approval: Approval, settlement: Settlement, decidedAt: number): Approval {
  return freezeApproval({
    ...approval,
    status: settlement.status,
    decidedAt,
    ...(settlement.reason !== undefined && { reason: settlement.reason }),
    ...(settlement.grantedUntil !== undefined && { grantedUntil: settlement.grantedUntil }),
  });
}

export function expirySettlement(approval: Approval): Settlement {
  const { id, requestedAt, expiresAt } = approval;
  return { status: 'expired', reason: `approval ${id} expired after ${formatDuration(expiresAt - requestedAt)} without a decision` };
}

/** Why an executed() call is refused, or undefined when the approval may be used now. */
export function executeRefusal(approval: Approval): ApprovalError | undefined {
  if (approval.status !== 'approved') return new ApprovalError('not_pending', notPendingMessage(approval));
  if (approval.executedAt !== undefined) return new ApprovalError('not_pending', `approval ${approval.id} was already used`);
  return undefined;
}

export function notFound(id: string): ApprovalError {
  return new ApprovalError('not_found', `there is no approval ${id}: it never existed or has left the history`);
}

/** The outcome the holding gateway receives for a decided approval. */
export function outcomeOf(approval: Approval): ApprovalOutcome {
  const { status } = approval;
  if (status === 'pending') throw new Error(`approval ${approval.id} is still pending and has no outcome yet`);
  return status === 'approved' ? { status, approval } : { status, approval, reason: approval.reason ?? status };
}

// --- the `approval` events written to the requesting session's recording ---

export function requestedEvent(approval: Approval): Readonly<Record<string, unknown>> {
  return {
    action: 'requested',
    id: approval.id,
    statement_hash: approval.statementHash,
    rule: approval.rule,
    reasons: approval.reasons,
    expires_at: approval.expiresAt,
    quorum: approval.quorum,
  };
}

export function voteEvent(id: string, vote: ApprovalVote): Readonly<Record<string, unknown>> {
  return {
    action: 'vote',
    id,
    approver: vote.approver,
    decision: vote.decision,
    scope: vote.scope,
    ...(vote.reason !== undefined && { reason: vote.reason }),
  };
}

/** The event that ends a decided approval, derived from its final state. */
export function finalEvent(approval: Approval): Readonly<Record<string, unknown>> {
  const { id, status } = approval;
  const voters = (decision: ApprovalVote['decision']) => approval.votes.filter((vote) => vote.decision === decision).map((vote) => vote.approver.subject);
  switch (status) {
    case 'approved':
      return {
        action: 'approved',
        id,
        by: voters('approve'),
        ...(approval.reason !== undefined && { reason: approval.reason }),
        ...(approval.grantedUntil !== undefined && { granted_until: approval.grantedUntil }),
      };
    case 'denied':
      return { action: 'denied', id, by: voters('deny'), reason: approval.reason };
    case 'expired':
      return { action: 'expired', id, reason: approval.reason };
    case 'cancelled':
      return { action: 'cancelled', id, cause: approval.reason };
    case 'pending':
      throw new Error(`approval ${id} is still pending and has no final event yet`);
    default:
      return assertNever(status, 'approval status');
  }
}

export function executedEvent(id: string): Readonly<Record<string, unknown>> {
  return { action: 'executed', id };
}

/** Why an approval can no longer be decided, in words an approver understands. */
export function notPendingMessage(approval: Approval): string {
  const { id, status } = approval;
  const voters = (decision: ApprovalVote['decision']) =>
    approval.votes
      .filter((vote) => vote.decision === decision)
      .map((vote) => vote.approver.subject)
      .join(', ');
  switch (status) {
    case 'pending': {
      const approvals = approval.votes.filter((vote) => vote.decision === 'approve').length;
      return `approval ${id} is still pending (${approvals} of ${approval.quorum} approvals)`;
    }
    case 'approved':
      return `approval ${id} was already approved by ${voters('approve')}`;
    case 'denied':
      return `approval ${id} was already denied by ${voters('deny')}: ${approval.reason ?? 'no reason given'}`;
    case 'expired':
      return approval.reason ?? `approval ${id} already expired`;
    case 'cancelled':
      return `approval ${id} was cancelled: ${approval.reason ?? 'no cause given'}`;
    default:
      return assertNever(status, 'approval status');
  }
}

// --- views ---

/** Newest first, by status, up to the limit (default 100); `oldestFirst` is in request order. */
export function newestFirst(oldestFirst: readonly Approval[], query: ApprovalListQuery = {}): Approval[] {
  const limit = Math.max(0, Math.floor(query.limit ?? DEFAULT_LIST_LIMIT));
  const out: Approval[] = [];
  for (let i = oldestFirst.length - 1; i >= 0 && out.length < limit; i--) {
    const approval = oldestFirst[i]!;
    if (query.status === undefined || approval.status === query.status) out.push(approval);
  }
  return out;
}

/** Calls every listener; a subscriber's bug (thrown or rejected) must not reach the data path. */
export function emitTo(listeners: ReadonlySet<ApprovalListener>, approval: Approval): void {
  for (const listener of [...listeners]) {
    try {
      const result: unknown = listener(approval);
      // An async listener's rejection would otherwise be unhandled and stop the process.
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      // Swallowed on purpose: see above.
    }
  }
}

/** Wrapped, so the same function subscribed twice is two subscriptions, each removed once. */
export function subscribe(listeners: Set<ApprovalListener>, listener: ApprovalListener): () => void {
  const subscription: ApprovalListener = (approval) => listener(approval);
  listeners.add(subscription);
  return () => listeners.delete(subscription);
}

/** Something holding an approval's current state (a broker's entry): grants follow it, e.g. once executed. */
export interface ApprovalHolder {
  readonly approval: Approval;
}

/**
 * "Approve for this session" grants by session and fingerprint. Kept apart from history: a grant
 * outlives eviction.
 */
export class SessionGrants {
  readonly #grants = new Map<string, Map<string, ApprovalHolder>>();

  /** Indexes a granted approval, keeping the longer grant when two cover one fingerprint. */
  add(holder: ApprovalHolder, now: number): void {
    // Prune run-out grants here (grants are rare) so sessions that end do not leave them behind.
    for (const [sessionId, grants] of this.#grants) {
      for (const [fingerprint, grant] of grants) if ((grant.approval.grantedUntil ?? 0) <= now) grants.delete(fingerprint);
      if (grants.size === 0) this.#grants.delete(sessionId);
    }
    const { sessionId, fingerprint, grantedUntil = 0 } = holder.approval;
    let grants = this.#grants.get(sessionId);
    if (!grants) this.#grants.set(sessionId, (grants = new Map()));
    const existing = grants.get(fingerprint);
    if (!existing || (existing.approval.grantedUntil ?? 0) < grantedUntil) grants.set(fingerprint, holder);
  }

  get(sessionId: string, fingerprint: string, now: number): Approval | undefined {
    const grants = this.#grants.get(sessionId);
    const grant = grants?.get(fingerprint);
    if (!grants || !grant) return undefined;
    if ((grant.approval.grantedUntil ?? 0) > now) return grant.approval;
    grants.delete(fingerprint);
    if (grants.size === 0) this.#grants.delete(sessionId);
    return undefined;
  }
}

/** Decided approvals a broker keeps for get/list: past `limit`, the oldest is forgotten (pending ones are never in here). */
export class DecidedHistory {
  readonly #ids: string[] = [];

  constructor(
    private readonly limit: number,
    private readonly forget: (id: string) => void,
  ) {}

  add(id: string): void {
    this.#ids.push(id);
    while (this.#ids.length > this.limit) this.forget(this.#ids.shift()!);
  }
}
