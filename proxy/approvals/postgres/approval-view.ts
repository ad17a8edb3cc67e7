import type { SessionRecording } from '../../audit/audit-types.js';
import {
  emitTo,
  executedEvent,
  DecidedHistory,
  finalEvent,
  newestFirst,
  outcomeOf,
  requestedEvent,
  SessionGrants,
  settled,
  subscribe,
  voteEvent,
  type ApprovalListener,
  type Settlement,
} from '../approval-rules.js';
import { freezeApproval } from '../approval-snapshot.js';
import type { Approval, ApprovalListQuery, ApprovalOutcome } from '../approval-types.js';
import type { ApprovalRow } from './approval-rows.js';

/** A statement this gateway holds: where its audit goes and who waits for its outcome. */
export interface Hold {
  readonly recording: SessionRecording;
  readonly resolve: (outcome: ApprovalOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  /** True once the row is committed; false when it never will be (the request ended here). */
  stored: Promise<boolean>;
  /** Votes already written to the recording. */
  votesRecorded: number;
  settled: boolean;
}

export interface Entry {
  /** The current frozen state; replaced, never mutated. */
  approval: Approval;
  readonly gateway: string;
  /** The row version this state reflects (-1: not stored yet). Older reads are ignored. */
  version: number;
  /** Set when this gateway holds the statement. */
  readonly hold?: Hold;
}

/**
 * One gateway's in-memory view of the shared queue, so get/list/sessionGrant answer without a
 * round trip: every pending approval of every gateway and bounded history. It turns the rows it
 * learns into listener events and, for the statements this gateway holds, into the recording's
 * events and the outcome, in the in-memory broker's order.
 */
export class SharedApprovalView {
  readonly #now: () => number;
  /** In the order this gateway learned of them. */
  readonly #entries = new Map<string, Entry>();
  readonly #history: DecidedHistory;
  /** Ids this gateway holds that have not ended yet. */
  readonly holding = new Set<string>();
  readonly #grants = new SessionGrants();
  readonly #listeners = { requested: new Set<ApprovalListener>(), decided: new Set<ApprovalListener>() };

  constructor(historyLimit: number, now: () => number) {
    this.#history = new DecidedHistory(historyLimit, (id) => this.#entries.delete(id));
    this.#now = now;
  }

  entry(id: string): Entry | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<Entry> {
    return this.#entries.values();
  }

  get(id: string): Approval | undefined {
    return this.#entries.get(id)?.approval;
  }

  list(query: ApprovalListQuery = {}): Approval[] {
    // Request order across gateways; a stable sort keeps arrival order within one millisecond.
    const approvals = [...this.#entries.values()].map((entry) => entry.approval).sort((a, b) => a.requestedAt - b.requestedAt);
    return newestFirst(approvals, query);
  }

  on(event: 'requested' | 'decided', listener: ApprovalListener): () => void {
    return subscribe(this.#listeners[event], listener);
  }

  sessionGrant(sessionId: string, fingerprint: string): Approval | undefined {
    return this.#grants.get(sessionId, fingerprint, this.#now());
  }

  /** A new request this gateway holds: recorded and announced before anything else happens to it. */
  hold(approval: Approval, gateway: string, recording: SessionRecording, resolve: (outcome: ApprovalOutcome) => void): Entry {
    const hold: Hold = { recording, resolve, timer: undefined, stored: Promise.resolve(false), votesRecorded: 0, settled: false };
    const entry: Entry = { approval, gateway, version: -1, hold };
    this.#entries.set(approval.id, entry);
    this.holding.add(approval.id);
    record(hold, requestedEvent(approval));
    emitTo(this.#listeners.requested, approval);
    return entry;
  }

  /** Learns a row: newer versions only; events for what changed; a held request's outcome. */
  apply(row: ApprovalRow): Entry {
    const { approval, gateway, version } = row;
    const entry = this.#entries.get(approval.id);
    if (!entry) {
      const added: Entry = { approval, gateway, version };
      this.#entries.set(approval.id, added);
      if (approval.status === 'pending') {
        emitTo(this.#listeners.requested, approval);
      } else {
        this.#history.add(approval.id);
        emitTo(this.#listeners.decided, approval);
      }
      return added;
    }
    const { hold } = entry;
    // Older than what this gateway has; or still pending while this gateway already ended it
    // (unreachable database): its own end is on the way to the row.
    if (version <= entry.version || (hold?.settled && approval.status === 'pending')) return entry;
    const previous = entry.approval;
    entry.approval = approval;
    entry.version = version;
    if (hold && !hold.settled) {
      for (; hold.votesRecorded < approval.votes.length; hold.votesRecorded++) record(hold, voteEvent(approval.id, approval.votes[hold.votesRecorded]!));
      if (approval.status !== 'pending') this.#settle(entry, hold);
    } else if (previous.status === 'pending' && approval.status !== 'pending') {
      this.#history.add(approval.id);
      emitTo(this.#listeners.decided, approval);
    }
    return entry;
  }

  /** Ends a held request in this gateway only, before (or without) the row: shutdown, fail closed. */
  endHere(entry: Entry, settlement: Settlement): void {
    const { hold } = entry;
    if (!hold || hold.settled) return;
    entry.approval = settled(entry.approval, settlement, this.#now());
    this.#settle(entry, hold);
  }

  /** The approved statement was forwarded; returns the time recorded. */
  executed(entry: Entry): number {
    const at = this.#now();
    entry.approval = freezeApproval({ ...entry.approval, executedAt: at });
    if (entry.hold) record(entry.hold, executedEvent(entry.approval.id));
    return at;
  }

  /** A held request ended: audit, outcome, grant, history, then listeners (who see it settled). */
  #settle(entry: Entry, hold: Hold): void {
    hold.settled = true;
    clearTimeout(hold.timer);
    hold.timer = undefined;
    this.holding.delete(entry.approval.id);
    const { approval } = entry;
    record(hold, finalEvent(approval));
    hold.resolve(outcomeOf(approval));
    // Indexed before listeners run, so a listener already finds the grant.
    if (approval.grantedUntil !== undefined) this.#grants.add(entry, this.#now());
    this.#history.add(approval.id);
    emitTo(this.#listeners.decided, approval);
  }

}

function record(hold: Hold, payload: Readonly<Record<string, unknown>>): void {
  // SessionRecording.event never throws or rejects; failures surface through the store.
  void hold.recording.event('approval', payload);
}
