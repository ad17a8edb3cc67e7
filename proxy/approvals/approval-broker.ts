import type { SessionRecording } from '../audit/audit-types.js';
import type { Identity } from '../identity/identity.js';
import {
  castVote,
  checkRuleOptions,
  DecidedHistory,
  emitTo,
  executedEvent,
  executeRefusal,
  expirySettlement,
  finalEvent,
  MAX_TIMER_MS,
  newestFirst,
  notFound,
  outcomeOf,
  pendingApproval,
  randomUlid,
  requestedEvent,
  SessionGrants,
  settled,
  SHUTDOWN_CAUSE,
  subscribe,
  voteEvent,
  withVote,
  type ApprovalListener,
  type ApprovalRuleOptions,
  type Settlement,
} from './approval-rules.js';
import { freezeApproval } from './approval-snapshot.js';
import type { Approval, ApprovalBroker, ApprovalListQuery, ApprovalOutcome, ApprovalRequest, ApprovalVote, DecideInput, PendingApproval } from './approval-types.js';

export { SHUTDOWN_CAUSE };

export interface ApprovalBrokerOptions extends ApprovalRuleOptions {
  /** Epoch ms. */
  readonly now?: () => number;
  readonly newId?: () => string;
}

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
 * second one meets a decided approval and gets `not_pending`. The rules themselves (who may
 * vote, quorum, wording) are approval-rules.ts's, shared with the PostgreSQL broker.
 */
class MemoryApprovalBroker implements LocalApprovalBroker {
  readonly #timeoutMs: number;
  readonly #quorum: number;
  readonly #selfApproval: boolean;
  readonly #now: () => number;
  readonly #newId: () => string;
  /** Insertion order is request order, so newest first is a reverse walk. */
  readonly #entries = new Map<string, Entry>();
  readonly #history: DecidedHistory;
  readonly #grants = new SessionGrants();
  readonly #listeners = { requested: new Set<ApprovalListener>(), decided: new Set<ApprovalListener>() };
  #closed = false;

  constructor(options: ApprovalBrokerOptions) {
    this.#history = new DecidedHistory(checkRuleOptions(options), (id) => this.#entries.delete(id));
    this.#timeoutMs = options.timeoutMs;
    this.#quorum = options.quorum;
    this.#selfApproval = options.selfApproval;
    // Late-bound, so fake timers installed after construction still apply.
    this.#now = options.now ?? (() => Date.now());
    this.#newId = options.newId ?? randomUlid;
  }

  request(request: ApprovalRequest, recording: SessionRecording): PendingApproval {
    const id = this.#newId();
    if (this.#entries.has(id)) throw new Error(`approval id ${id} is already in use: newId must return unique ids`);
    let resolve: (outcome: ApprovalOutcome) => void = () => undefined;
    const outcome = new Promise<ApprovalOutcome>((settle) => (resolve = settle));
    const approval = pendingApproval(request, id, this.#now(), this.#timeoutMs, this.#quorum);
    const entry: Entry = { approval, recording, resolve, timer: undefined };
    this.#entries.set(id, entry);
    this.#record(entry, requestedEvent(approval));
    emitTo(this.#listeners.requested, approval);
    // After close() a request still gets an id and an audit trail, and ends at once: the
    // gateway handles it like any other cancellation.
    if (this.#closed) this.#cancel(entry, SHUTDOWN_CAUSE);
    else if (entry.approval.status === 'pending') this.#arm(entry);
    return { approval, outcome };
  }

  decide(id: string, approver: Identity, input: DecideInput): Approval {
    const entry = this.#entry(id);
    this.#expireIfDue(entry);
    const { vote, settlement } = castVote(entry.approval, approver, input, this.#now(), this.#selfApproval);
    this.#vote(entry, vote);
    if (settlement) this.#settle(entry, settlement);
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
    const refusal = executeRefusal(entry.approval);
    if (refusal) throw refusal;
    entry.approval = freezeApproval({ ...entry.approval, executedAt: this.#now() });
    this.#record(entry, executedEvent(id));
  }

  sessionGrant(sessionId: string, fingerprint: string): Approval | undefined {
    return this.#grants.get(sessionId, fingerprint, this.#now());
  }

  get(id: string): Approval | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#expireIfDue(entry);
    return entry.approval;
  }

  list(query: ApprovalListQuery = {}): Approval[] {
    const entries = [...this.#entries.values()];
    for (const entry of entries) this.#expireIfDue(entry);
    return newestFirst(
      entries.map((entry) => entry.approval),
      query,
    );
  }

  on(event: 'requested' | 'decided', listener: ApprovalListener): () => void {
    return subscribe(this.#listeners[event], listener);
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
    if (!entry) throw notFound(id);
    return entry;
  }

  #arm(entry: Entry): void {
    const remaining = entry.approval.expiresAt - this.#now();
    if (remaining <= 0) return this.#settle(entry, expirySettlement(entry.approval));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.approval.status === 'pending') this.#arm(entry);
    }, Math.min(remaining, MAX_TIMER_MS));
    // A held statement must not keep the process alive on its own.
    entry.timer.unref();
  }

  /** Timers can lag the clock; a decision at or after expiresAt never counts. */
  #expireIfDue(entry: Entry): void {
    if (entry.approval.status === 'pending' && this.#now() >= entry.approval.expiresAt) this.#settle(entry, expirySettlement(entry.approval));
  }

  #cancel(entry: Entry, cause: string): void {
    this.#settle(entry, { status: 'cancelled', reason: cause });
  }

  #vote(entry: Entry, vote: ApprovalVote): void {
    entry.approval = withVote(entry.approval, vote);
    this.#record(entry, voteEvent(entry.approval.id, vote));
  }

  /** The one way out of pending: state, audit, outcome, history, then listeners (who see it settled). */
  #settle(entry: Entry, settlement: Settlement): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.approval = settled(entry.approval, settlement, this.#now());
    const { approval } = entry;
    this.#record(entry, finalEvent(approval));
    entry.resolve(outcomeOf(approval));
    // Indexed before listeners run, so a listener already finds the grant.
    if (approval.grantedUntil !== undefined) this.#grants.add(entry, this.#now());
    this.#history.add(approval.id);
    emitTo(this.#listeners.decided, approval);
  }


  #record(entry: Entry, payload: Readonly<Record<string, unknown>>): void {
    // SessionRecording.event never throws or rejects; failures surface through the store.
    void entry.recording.event('approval', payload);
  }
}
