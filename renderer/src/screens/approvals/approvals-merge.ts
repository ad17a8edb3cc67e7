import type { Approval } from '../../../../proxy/api/api-contract.js';

// How the inbox folds what it learns (a list answer, an event, a decide answer) into one map of
// approvals. The sources race: a list may leave the gateway before an event and arrive after it,
// so an older copy must never undo a newer one (a settled approval never turns pending again).

/** How many settled approvals the inbox keeps for its history. */
export const HISTORY_LIMIT = 100;

export type ApprovalMap = ReadonlyMap<string, Approval>;

/** The copy to keep of two copies of one approval: settled beats pending; more votes beat fewer. */
export function newerOf(current: Approval | undefined, incoming: Approval): Approval {
  if (!current) return incoming;
  const settledNow = current.status !== 'pending';
  const settledIncoming = incoming.status !== 'pending';
  if (settledNow !== settledIncoming) return settledIncoming ? incoming : current;
  if (settledNow) {
    // Settled copies differ only in what happened after: keep the one that knows more.
    if (current.executedAt !== undefined && incoming.executedAt === undefined) return current;
    return incoming;
  }
  return incoming.votes.length >= current.votes.length ? incoming : current;
}

export function mergeOne(map: ApprovalMap, incoming: Approval): Map<string, Approval> {
  const next = new Map(map);
  next.set(incoming.id, newerOf(map.get(incoming.id), incoming));
  return next;
}

export interface ListAnswer {
  /** Every pending approval the gateway holds (authoritative for what is still pending). */
  readonly pending: readonly Approval[];
  /** The newest approvals of any status (history). */
  readonly recent: readonly Approval[];
  /**
   * Ids that arrived or changed by event after the list was asked for: the answer may predate
   * them, so their absence from `pending` proves nothing.
   */
  readonly changedSince: ReadonlySet<string>;
}

/**
 * Folds a fresh list into the map. Returns the ids the inbox believed pending that the gateway no
 * longer lists as pending, with no settled copy in the answer: they were decided while the events
 * connection was down, and the caller fetches each one (approvals.get) to learn how.
 */
export function mergeList(map: ApprovalMap, answer: ListAnswer): { readonly map: Map<string, Approval>; readonly vanished: readonly string[] } {
  const next = new Map(map);
  for (const approval of [...answer.pending, ...answer.recent]) next.set(approval.id, newerOf(next.get(approval.id), approval));
  const stillPending = new Set(answer.pending.map((approval) => approval.id));
  const vanished: string[] = [];
  for (const approval of next.values()) {
    if (approval.status === 'pending' && !stillPending.has(approval.id) && !answer.changedSince.has(approval.id)) vanished.push(approval.id);
  }
  return { map: prune(next), vanished };
}

/** Pending ones, the one expiring soonest first (ties: the older request first). */
export function pendingOf(map: ApprovalMap): Approval[] {
  return [...map.values()].filter((approval) => approval.status === 'pending').sort((a, b) => a.expiresAt - b.expiresAt || a.requestedAt - b.requestedAt || a.id.localeCompare(b.id));
}

/** Settled ones, the latest decided first. */
export function decidedOf(map: ApprovalMap): Approval[] {
  return [...map.values()].filter((approval) => approval.status !== 'pending').sort((a, b) => settledAt(b) - settledAt(a) || b.id.localeCompare(a.id));
}

function settledAt(approval: Approval): number {
  return approval.decidedAt ?? approval.requestedAt;
}

/** Drops the oldest settled approvals past HISTORY_LIMIT; pending ones always stay. */
export function prune(map: Map<string, Approval>): Map<string, Approval> {
  const settled = decidedOf(map);
  for (const old of settled.slice(HISTORY_LIMIT)) map.delete(old.id);
  return map;
}
