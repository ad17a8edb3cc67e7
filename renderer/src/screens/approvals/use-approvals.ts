import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Approval, ApiError, ApiResult } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { decidedOf, HISTORY_LIMIT, mergeList, mergeOne, pendingOf, type ApprovalMap } from './approvals-merge.js';
import { notifyRequest } from './desktop-notifications.js';

// The approvals an approver sees, kept live: one list at start, then the events; a fresh list
// each time the events connection comes back, so nothing decided or requested while it was down
// is missed. App holds this hook (not the screen) so the tab title and desktop notifications work
// on every screen.

export interface DecideRequest {
  readonly decision: 'approve' | 'deny';
  readonly reason?: string;
  readonly scope?: 'once' | 'session';
}

export interface ApprovalsState {
  /** Pending requests, oldest first (the one expiring soonest on top). */
  readonly pending: readonly Approval[];
  /** Decided, expired and cancelled ones, newest first. */
  readonly decided: readonly Approval[];
  readonly loading: boolean;
  readonly error?: ApiError;
  decide(id: string, request: DecideRequest): Promise<ApiResult<Approval>>;
}

/** Partial votes (quorum > 1) raise no event, so a request still short of its quorum is re-read this often. */
const QUORUM_REFRESH_MS = 5_000;

export function useApprovals(client: EngineClient, enabled: boolean): ApprovalsState {
  // The ref is the truth (async callbacks read it); the state mirrors it to render.
  const store = useRef<ApprovalMap>(new Map());
  const [map, setMap] = useState<ApprovalMap>(store.current);
  const [loading, setLoading] = useState(enabled);
  const [error, setError] = useState<ApiError | undefined>();
  // One set per list call in flight: ids changed by event while it was out.
  const inflight = useRef(new Set<Set<string>>());

  const commit = useCallback((next: ApprovalMap) => {
    store.current = next;
    setMap(next);
  }, []);

  const apply = useCallback(
    (approval: Approval) => {
      for (const changed of inflight.current) changed.add(approval.id);
      commit(mergeOne(store.current, approval));
    },
    [commit],
  );

  useEffect(() => {
    if (!enabled) {
      setLoading(false);
      return;
    }
    let disposed = false;
    setLoading(true);

    const list = async () => {
      const changedSince = new Set<string>();
      inflight.current.add(changedSince);
      const [pending, recent] = await Promise.all([client.call('approvals.list', { status: 'pending', limit: 1_000 }), client.call('approvals.list', { limit: HISTORY_LIMIT })]);
      inflight.current.delete(changedSince);
      if (disposed) return;
      setLoading(false);
      if (!pending.ok) return setError(pending.error);
      if (!recent.ok) return setError(recent.error);
      setError(undefined);
      const merged = mergeList(store.current, { pending: pending.value, recent: recent.value, changedSince });
      commit(merged.map);
      // Settled while the events were down, and already out of the recent list: ask for each.
      for (const id of merged.vanished) {
        void client.call('approvals.get', { id }).then((result) => {
          if (disposed) return;
          if (result.ok) apply(result.value);
          else if (result.error.code === 'not_found') {
            const next = new Map(store.current);
            next.delete(id);
            commit(next);
          }
        });
      }
    };

    const unsubscribe = client.subscribe((message) => {
      if (message.event === 'approval.requested') {
        const isNew = !store.current.has(message.payload.id);
        apply(message.payload);
        if (isNew && message.payload.status === 'pending') notifyRequest(message.payload);
      } else if (message.event === 'approval.decided') {
        apply(message.payload);
      }
    });

    // Re-list on every return to live; the state reported while registering is the current one,
    // which the first list below already covers.
    let live = false;
    let registering = true;
    const unwatch = client.onConnection((state) => {
      if (state === 'live' && !live && !registering) void list();
      live = state === 'live';
    });
    registering = false;
    void list();

    return () => {
      disposed = true;
      unsubscribe();
      unwatch();
    };
  }, [client, enabled, apply, commit]);

  const pending = useMemo(() => pendingOf(map), [map]);
  const decided = useMemo(() => decidedOf(map), [map]);

  const needsQuorumRefresh = enabled && pending.some((approval) => approval.quorum > 1);
  useEffect(() => {
    if (!needsQuorumRefresh) return;
    const timer = setInterval(() => {
      for (const approval of pendingOf(store.current)) {
        if (approval.quorum > 1) void client.call('approvals.get', { id: approval.id }).then((result) => result.ok && apply(result.value));
      }
    }, QUORUM_REFRESH_MS);
    return () => clearInterval(timer);
  }, [client, needsQuorumRefresh, apply]);

  const decide = useCallback(
    async (id: string, request: DecideRequest): Promise<ApiResult<Approval>> => {
      const result = await client.call('approvals.decide', {
        id,
        decision: request.decision,
        ...(request.reason !== undefined && { reason: request.reason }),
        ...(request.scope !== undefined && { scope: request.scope }),
      });
      // The answer carries the vote at once (the event follows only when it settles the request).
      if (result.ok) apply(result.value);
      return result;
    },
    [client, apply],
  );

  return enabled ? { pending, decided, loading, ...(error && { error }), decide } : { pending: [], decided: [], loading: false, decide };
}
