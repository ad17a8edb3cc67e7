import type { SessionRecording } from '../audit/audit-types.js';
import { ulidFactory } from '../audit/ulid.js';
import { assertNever } from '../common/assert-never.js';
import { formatDuration } from '../config/units.js';
import type { Identity } from '../identity/identity.js';
import { freezeApproval, freezeVote, snapshotRequest } from './approval-snapshot.js';
import {
  ApprovalError,
  type Approval,
  type ApprovalBroker,
  type ApprovalListQuery,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalVote,
  type DecideInput,
  type PendingApproval,
} from './approval-types.js';

export interface ApprovalBrokerOptions {
  /** How long a request waits for a decision (config `approvals.timeout`). */
  readonly timeoutMs: number;
  /** Distinct approvers needed (config `approvals.quorum`). */
  readonly quorum: number;
  /** Whether the requester may decide their own request (config `approvals.self_approval`). */
  readonly selfApproval: boolean;
  /** Decided approvals kept for get/list (default 1,000). Pending ones are never dropped. */
  readonly historyLimit?: number;
  /** Epoch ms. */
  readonly now?: () => number;
  readonly newId?: () => string;
}

export const SHUTDOWN_CAUSE = 'the gateway is shutting down';
const DEFAULT_HISTORY_LIMIT = 1_000;
const DEFAULT_LIST_LIMIT = 100;
// Node fires a setTimeout with a longer delay (~24.8 days) at once, so long waits re-arm in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A fresh generator per id: ulid.ts's shared one makes ids within one millisecond by adding 1 to
 * the previous random part, so one id would give away the next. Every id here has 80 fresh random
 * bits; list order comes from insertion, not from the ids.
 */
function randomUlid(): string {
  return ulidFactory()();
}

type Party = { readonly subject: string; readonly issuer: string };
type Listener = (approval: Approval) => void;
type Final = Exclude<ApprovalStatus, 'pending'>;

interface Entry {
  /** The current frozen state; replaced, never mutated. */
  approval: Approval;
  readonly recording: SessionRecording;
  readonly resolve: (outcome: ApprovalOutcome) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The in-process broker: one gateway's approvals, decided synchronously. */
export interface LocalApprovalBroker extends ApprovalBroker {
  decide(id: string, approver: Identity, input: DecideInput): Approval;
}

export function createApprovalBroker(options: ApprovalBrokerOptions): LocalApprovalBroker {
  return new MemoryApprovalBroker(options);
}

/**
 * Approvals in memory: pending requests until they end, decided ones as bounded history.
 * Decisions are synchronous, so two approvers racing are serialized by the event loop: the
 * second one meets a decided approval and gets `not_pending`.
 */
class MemoryApprovalBroker implements ApprovalBroker {
  readonly #timeoutMs: number;
  readonly #quorum: number;
  readonly #selfApproval: boolean;
  readonly #historyLimit: number;
  readonly #now: () => number;
  readonly #newId: () => string;
  /** Insertion order is request order, so newest first is a reverse walk. */
  readonly #entries = new Map<string, Entry>();
  /** Decided ids, oldest decision first: what history eviction drops. */
  readonly #decided: string[] = [];
  /** sessionId -> fingerprint -> the approval granting it. Kept apart from history: a grant outlives eviction. */
  readonly #grants = new Map<string, Map<string, Entry>>();
  readonly #listeners = { requested: new Set<Listener>(), decided: new Set<Listener>() };
  #closed = false;

  constructor(options: ApprovalBrokerOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(`approval timeout must be a positive number of ms, not ${options.timeoutMs}`);
    }
    if (!Number.isInteger(options.quorum) || options.quorum < 1) throw new RangeError(`approval quorum must be an integer of at least 1, not ${options.quorum}`);
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(historyLimit) || historyLimit < 0) throw new RangeError(`approval history limit must be a whole number, not ${historyLimit}`);
    this.#timeoutMs = options.timeoutMs;
    this.#quorum = options.quorum;
    this.#selfApproval = options.selfApproval;
    this.#historyLimit = historyLimit;
    // Late-bound, so fake timers installed after construction still apply.
    this.#now = options.now ?? (() => Date.now());
    this.#newId = options.newId ?? randomUlid;
  }

  request(request: ApprovalRequest, recording: SessionRecording): PendingApproval {
    const id = this.#newId();
    if (this.#entries.has(id)) throw new Error(`approval id ${id} is already in use: newId must return unique ids`);
    const now = this.#now();
    let resolve: (outcome: ApprovalOutcome) => void = () => undefined;
    const outcome = new Promise<ApprovalOutcome>((settle) => (resolve = settle));
    const approval = freezeApproval({
      ...snapshotRequest(request),
      id,
      status: 'pending',
      requestedAt: now,
      expiresAt: now + this.#timeoutMs,
      quorum: this.#quorum,
      votes: [],
    });
    const entry: Entry = { approval, recording, resolve, timer: undefined };
    this.#entries.set(id, entry);
    this.#record(entry, {
      action: 'requested',
      id,
      statement_hash: approval.statementHash,
      rule: approval.rule,
      reasons: approval.reasons,
      expires_at: approval.expiresAt,
      quorum: approval.quorum,
    });
    this.#emit('requested', approval);
    // After close() a request still gets an id and an audit trail, and ends at once: the
    // gateway handles it like any other cancellation.
    if (this.#closed) this.#cancel(entry, SHUTDOWN_CAUSE);
    else if (entry.approval.status === 'pending') this.#arm(entry);
    return { approval, outcome };
  }

  decide(id: string, approver: Identity, input: DecideInput): Approval {
    const entry = this.#entry(id);
    this.#expireIfDue(entry);
    const current = entry.approval;
    if (current.status !== 'pending') throw new ApprovalError('not_pending', notPendingMessage(current));
    const who: Party = { subject: approver.subject, issuer: approver.issuer };
    if (!this.#selfApproval && sameParty(who, current.requester)) {
      throw new ApprovalError('self_approval', `${who.subject} asked for approval ${id} and cannot decide it: another approver must (approvals.self_approval is off)`);
    }
    const reason = input.reason?.trim() || undefined;
    const at = this.#now();

    if (input.decision === 'deny') {
      if (reason === undefined) throw new ApprovalError('reason_required', `denying approval ${id} needs a reason: say why, so the requester knows what to change`);
      // A deny has no grant to scope.
      this.#vote(entry, freezeVote({ approver: who, decision: 'deny', reason, scope: 'once', at }));
      this.#settle(entry, { status: 'denied', reason }, { action: 'denied', id, by: [who.subject], reason });
      return entry.approval;
    }

    const scope = input.scope ?? 'once';
    if (scope === 'session' && !((current.sessionGrantMs ?? 0) > 0)) {
      throw new ApprovalError('grant_not_allowed', `approval ${id} cannot be granted for the session: rule ${current.rule} allows one-time approval only; approve with scope 'once'`);
    }
    const approvals = current.votes.filter((vote) => vote.decision === 'approve');
    if (approvals.some((vote) => sameParty(vote.approver, who))) {
      const missing = current.quorum - approvals.length;
      throw new ApprovalError('duplicate_vote', `${who.subject} already approved ${id}; it needs ${missing} more approval${missing === 1 ? '' : 's'} from a different approver`);
    }
    const vote = freezeVote({ approver: who, decision: 'approve', ...(reason !== undefined && { reason }), scope, at });
    this.#vote(entry, vote);
    approvals.push(vote);
    if (approvals.length < current.quorum) return entry.approval;

    // A session grant is broader than one statement, so every approver counted must have agreed to it.
    const grantMs = approvals.every((v) => v.scope === 'session') ? current.sessionGrantMs : undefined;
    const grantedUntil = grantMs === undefined ? undefined : at + grantMs;
    const reasons = approvals.filter((v) => v.reason !== undefined).map((v) => `${v.approver.subject}: ${v.reason}`);
    const joined = reasons.length > 0 ? reasons.join('; ') : undefined;
    this.#settle(
      entry,
      { status: 'approved', reason: joined, grantedUntil },
      {
        action: 'approved',
        id,
        by: approvals.map((v) => v.approver.subject),
        ...(joined !== undefined && { reason: joined }),
        ...(grantedUntil !== undefined && { granted_until: grantedUntil }),
      },
    );
    return entry.approval;
  }

  cancel(id: string, cause: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#expireIfDue(entry);
    if (entry.approval.status === 'pending') this.#cancel(entry, cause.trim() || 'the request was cancelled');
  }

  executed(id: string): void {
    const entry = this.#entry(id);
    const current = entry.approval;
    if (current.status !== 'approved') throw new ApprovalError('not_pending', notPendingMessage(current));
    if (current.executedAt !== undefined) throw new ApprovalError('not_pending', `approval ${id} was already used`);
    entry.approval = freezeApproval({ ...current, executedAt: this.#now() });
    this.#record(entry, { action: 'executed', id });
  }

  sessionGrant(sessionId: string, fingerprint: string): Approval | undefined {
    const grants = this.#grants.get(sessionId);
    const entry = grants?.get(fingerprint);
    if (!grants || !entry) return undefined;
    if ((entry.approval.grantedUntil ?? 0) > this.#now()) return entry.approval;
    grants.delete(fingerprint);
    if (grants.size === 0) this.#grants.delete(sessionId);
    return undefined;
  }

  get(id: string): Approval | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#expireIfDue(entry);
    return entry.approval;
  }

  list(query: ApprovalListQuery = {}): Approval[] {
    const limit = Math.max(0, Math.floor(query.limit ?? DEFAULT_LIST_LIMIT));
    const entries = [...this.#entries.values()];
    for (const entry of entries) this.#expireIfDue(entry);
    const out: Approval[] = [];
    for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
      const approval = entries[i]!.approval;
      if (query.status === undefined || approval.status === query.status) out.push(approval);
    }
    return out;
  }

  on(event: 'requested' | 'decided', listener: Listener): () => void {
    const set = this.#listeners[event];
    // Wrapped, so the same function subscribed twice is two subscriptions, each removed once.
    const subscription: Listener = (approval) => listener(approval);
    set.add(subscription);
    return () => set.delete(subscription);
  }

  close(): void {
    this.#closed = true;
    for (const entry of [...this.#entries.values()]) {
      if (entry.approval.status === 'pending') this.#cancel(entry, SHUTDOWN_CAUSE);
    }
  }

  // --- internals ---

  #entry(id: string): Entry {
    const entry = this.#entries.get(id);
    if (!entry) throw new ApprovalError('not_found', `there is no approval ${id}: it never existed or has left the history`);
    return entry;
  }

  #arm(entry: Entry): void {
    const remaining = entry.approval.expiresAt - this.#now();
    if (remaining <= 0) return this.#expire(entry);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.approval.status === 'pending') this.#arm(entry);
    }, Math.min(remaining, MAX_TIMER_MS));
    // A held statement must not keep the process alive on its own.
    entry.timer.unref();
  }

  /** Timers can lag the clock; a decision at or after expiresAt never counts. */
  #expireIfDue(entry: Entry): void {
    if (entry.approval.status === 'pending' && this.#now() >= entry.approval.expiresAt) this.#expire(entry);
  }

  #expire(entry: Entry): void {
    const { id, requestedAt, expiresAt } = entry.approval;
    const reason = `approval ${id} expired after ${formatDuration(expiresAt - requestedAt)} without a decision`;
    this.#settle(entry, { status: 'expired', reason }, { action: 'expired', id, reason });
  }

  #cancel(entry: Entry, cause: string): void {
    this.#settle(entry, { status: 'cancelled', reason: cause }, { action: 'cancelled', id: entry.approval.id, cause });
  }

  #vote(entry: Entry, vote: ApprovalVote): void {
    entry.approval = freezeApproval({ ...entry.approval, votes: [...entry.approval.votes, vote] });
    this.#record(entry, {
      action: 'vote',
      id: entry.approval.id,
      approver: vote.approver,
      decision: vote.decision,
      scope: vote.scope,
      ...(vote.reason !== undefined && { reason: vote.reason }),
    });
  }

  /** The one way out of pending: state, audit, outcome, history, then listeners (who see it settled). */
  #settle(entry: Entry, change: { status: Final; reason: string | undefined; grantedUntil?: number | undefined }, event: Readonly<Record<string, unknown>>): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.approval = freezeApproval({
      ...entry.approval,
      status: change.status,
      decidedAt: this.#now(),
      ...(change.reason !== undefined && { reason: change.reason }),
      ...(change.grantedUntil !== undefined && { grantedUntil: change.grantedUntil }),
    });
    const approval = entry.approval;
    const { status } = change;
    this.#record(entry, event);
    entry.resolve(status === 'approved' ? { status, approval } : { status, approval, reason: approval.reason ?? status });
    // Indexed before listeners run, so a listener already finds the grant.
    if (approval.grantedUntil !== undefined) this.#addGrant(entry);
    this.#remember(approval.id);
    this.#emit('decided', approval);
  }

  #remember(id: string): void {
    this.#decided.push(id);
    while (this.#decided.length > this.#historyLimit) {
      const oldest = this.#decided.shift();
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  #addGrant(entry: Entry): void {
    const now = this.#now();
    // Prune runs-out grants here (grants are rare) so sessions that end do not leave them behind.
    for (const [sessionId, grants] of this.#grants) {
      for (const [fingerprint, grant] of grants) if ((grant.approval.grantedUntil ?? 0) <= now) grants.delete(fingerprint);
      if (grants.size === 0) this.#grants.delete(sessionId);
    }
    const { sessionId, fingerprint, grantedUntil = 0 } = entry.approval;
    let grants = this.#grants.get(sessionId);
    if (!grants) this.#grants.set(sessionId, (grants = new Map()));
    const existing = grants.get(fingerprint);
    if (!existing || (existing.approval.grantedUntil ?? 0) < grantedUntil) grants.set(fingerprint, entry);
  }

  #record(entry: Entry, payload: Readonly<Record<string, unknown>>): void {
    // SessionRecording.event never throws or rejects; failures surface through the store.
    void entry.recording.event('approval', payload);
  }

  #emit(event: 'requested' | 'decided', approval: Approval): void {
    for (const listener of [...this.#listeners[event]]) {
      try {
        const result: unknown = listener(approval);
        // An async listener's rejection would otherwise be unhandled and stop the process.
        if (result instanceof Promise) result.catch(() => undefined);
      } catch {
        // A subscriber's bug must not reach the data path.
      }
    }
  }
}

function sameParty(a: Party, b: Party): boolean {
  return a.subject === b.subject && a.issuer === b.issuer;
}

/** Why an approval can no longer be decided, in words an approver understands. */
function notPendingMessage(approval: Approval): string {
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
