import './approvals.css';
import { useEffect, useRef, useState } from 'react';
import type { Approval, WhoAmI } from '../../../../proxy/api/api-contract.js';
import { navigate } from '../../app/routes.js';
import type { ConnectionState, EngineClient } from '../../engine-client.js';
import { EmptyState } from '../../ui/empty-state.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { ApprovalDetail } from './approval-detail.js';
import { ApprovalHistory } from './approval-history.js';
import { statementVerb } from './approval-words.js';
import type { DecisionError } from './decision-bar.js';
import { useNotificationPermission } from './desktop-notifications.js';
import { PendingList } from './pending-list.js';
import { ShortcutsHelp } from './shortcuts-help.js';
import { useInboxKeys } from './use-inbox-keys.js';
import type { ApprovalsState, DecideRequest } from './use-approvals.js';

// The approvals inbox: waiting requests on the left, the selected one in full on the right, the
// history below. Selection follows the approver, never the data: a request arriving does not
// take the selection, and only the approver's own decision moves it on.

export interface ApprovalsScreenProps {
  readonly client: EngineClient;
  readonly whoami: WhoAmI;
  readonly approvals: ApprovalsState;
  /** The request the route names (#/approvals/ID), e.g. from a desktop notification. */
  readonly focusId?: string;
}

/** The `a` shortcut approves only a request that has been on screen this long: no approving what you have not seen. */
export const LOOK_FIRST_MS = 400;

export function ApprovalsScreen({ client, whoami, approvals, focusId }: ApprovalsScreenProps) {
  const { pending, decided } = approvals;
  const [selectedId, setSelectedId] = useState<string | undefined>(focusId);
  const [denying, setDenying] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [errors, setErrors] = useState<Readonly<Record<string, DecisionError>>>({});
  const [announcement, setAnnouncement] = useState('');
  const [helpOpen, setHelpOpen] = useState(false);
  const [fetched, setFetched] = useState<Approval | undefined>();
  const connection = useConnection(client);
  const notifications = useNotificationPermission();

  useEffect(() => {
    if (focusId !== undefined) setSelectedId(focusId);
  }, [focusId]);

  const find = (id: string | undefined) => (id === undefined ? undefined : (pending.find((a) => a.id === id) ?? decided.find((a) => a.id === id) ?? (fetched?.id === id ? fetched : undefined)));
  const selected = find(selectedId) ?? pending[0];

  // Keep the fallback selection once shown, so a request arriving above it cannot take its place.
  // The route's own request may still be on its way (approvals.get below): wait for it.
  useEffect(() => {
    if (!selected || selected.id === selectedId || (selectedId !== undefined && selectedId === focusId)) return;
    setSelectedId(selected.id);
  }, [selected, selectedId, focusId]);

  // A link to a request this console has not seen (older than its history): ask for it.
  useEffect(() => {
    if (focusId === undefined || approvals.loading || find(focusId)) return;
    let current = true;
    void client.call('approvals.get', { id: focusId }).then((result) => current && result.ok && setFetched(result.value));
    return () => {
      current = false;
    };
  }, [client, focusId, approvals.loading, pending, decided]);

  const shownAt = useRef(0);
  useEffect(() => {
    shownAt.current = performance.now();
  }, [selected?.id]);

  const select = (id: string) => {
    setSelectedId(id);
    setDenying(undefined);
    navigate({ screen: 'approvals', id }, { replace: true });
  };

  const move = (step: 1 | -1) => {
    if (pending.length === 0) return;
    const index = pending.findIndex((approval) => approval.id === selected?.id);
    const next = index < 0 ? pending[0]! : pending[Math.min(pending.length - 1, Math.max(0, index + step))]!;
    if (next.id !== selected?.id) select(next.id);
  };

  const decide = async (approval: Approval, request: DecideRequest) => {
    if (busy !== undefined) return;
    const index = pending.findIndex((candidate) => candidate.id === approval.id);
    const after = pending[index + 1] ?? pending[index - 1];
    setBusy(approval.id);
    setErrors(({ [approval.id]: _cleared, ...rest }) => rest);
    const result = await approvals.decide(approval.id, request);
    setBusy(undefined);
    if (!result.ok) {
      setErrors((current) => ({ ...current, [approval.id]: { decision: request.decision, error: result.error } }));
      return;
    }
    setDenying(undefined);
    const what = `${statementVerb(approval.statement)} on ${approval.resource} by ${approval.requester.subject}`;
    if (result.value.status === 'pending') {
      setAnnouncement(`Your approval of ${what} is counted; it needs another approver.`);
      return;
    }
    setAnnouncement(`${request.decision === 'approve' ? 'Approved' : 'Denied'}: ${what}.${after ? ' Showing the next request.' : ' Nothing else is waiting.'}`);
    if (after) select(after.id);
    else {
      setSelectedId(undefined);
      navigate({ screen: 'approvals' }, { replace: true });
    }
  };

  const decidable = (approval: Approval | undefined): approval is Approval => approval !== undefined && approval.status === 'pending' && approval.expiresAt > Date.now();
  const lookedAt = () => {
    if (performance.now() - shownAt.current >= LOOK_FIRST_MS) return true;
    setAnnouncement('Shortcut ignored: that request just came on screen. Read it, then press the key again.');
    return false;
  };

  useInboxKeys({
    next: () => !helpOpen && move(1),
    previous: () => !helpOpen && move(-1),
    approve: () => {
      if (helpOpen) return;
      if (!decidable(selected)) return setAnnouncement(selected ? 'The selected request is no longer waiting.' : 'No request is selected.');
      if (denying === selected.id || !lookedAt()) return;
      if (selected.votes.some((vote) => vote.approver.subject === whoami.subject && vote.approver.issuer === whoami.issuer)) return setAnnouncement('You already approved this request.');
      void decide(selected, { decision: 'approve', scope: 'once' });
    },
    // Opening the reason decides nothing, so it needs no pause.
    deny: () => {
      if (helpOpen) return;
      if (!decidable(selected)) return setAnnouncement(selected ? 'The selected request is no longer waiting.' : 'No request is selected.');
      setDenying(selected.id);
    },
    toggleHelp: () => setHelpOpen((open) => !open),
    escape: () => {
      if (helpOpen) setHelpOpen(false);
      else setDenying(undefined);
    },
  });

  return (
    <div className="approvals-screen">
      <header className="approvals-header">
        <h1>Approvals</h1>
        <span className="approvals-count" aria-live="polite">
          {approvals.loading ? 'Loading…' : pending.length === 0 ? 'nothing waiting' : `${pending.length} waiting`}
        </span>
        {connection !== 'live' && (
          <span className="approvals-offline" role="status">
            Not live ({connection === 'connecting' ? 'reconnecting' : 'offline'}): new requests show once the connection is back
          </span>
        )}
        <span className="approvals-tools">
          {notifications.permission === 'default' && (
            <button type="button" className="button" onClick={() => void notifications.request()}>
              Enable desktop notifications
            </button>
          )}
          {notifications.permission === 'denied' && <span className="muted notifications-off">Desktop notifications are blocked in this browser's site settings</span>}
          <button type="button" className="button button-quiet" aria-expanded={helpOpen} aria-controls="approvals-shortcuts" onClick={() => setHelpOpen((open) => !open)}>
            Shortcuts <kbd aria-hidden="true">?</kbd>
          </button>
        </span>
        {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
      </header>
      <p className="approvals-announcement" role="status" aria-live="polite">
        {announcement}
      </p>

      {approvals.error && <ErrorBanner error={approvals.error} action="Could not load approvals" />}

      {approvals.loading && pending.length === 0 ? (
        <div className="approvals-loading muted" aria-busy="true">
          Loading requests…
        </div>
      ) : !selected ? (
        <EmptyState title="No requests waiting">
          <p>Statements that need approval appear here the moment a gateway holds them, and the client that sent them waits until you decide.</p>
          <p>
            {notifications.permission === 'granted'
              ? 'Desktop notifications are on: you will be told even when this tab is in the background.'
              : notifications.permission === 'default'
                ? 'Turn on desktop notifications above to hear about them while this tab is in the background.'
                : 'Keep this tab open: its title shows how many are waiting.'}
          </p>
        </EmptyState>
      ) : (
        <div className="approvals-layout">
          <nav className="approvals-queue" aria-label="Queue">
            <h2 className="queue-title">
              Waiting <span className="muted">({pending.length})</span>
            </h2>
            {pending.length > 0 ? (
              <PendingList pending={pending} selectedId={selected.id} onSelect={select} />
            ) : (
              <p className="muted queue-empty">Nothing else is waiting.</p>
            )}
          </nav>
          <ApprovalDetail
            key={selected.id}
            approval={selected}
            whoami={whoami}
            busy={busy === selected.id}
            denying={denying === selected.id}
            {...(errors[selected.id] && { error: errors[selected.id] })}
            onApprove={(scope) => void decide(selected, { decision: 'approve', scope })}
            onDenyOpen={() => setDenying(selected.id)}
            onDenyCancel={() => setDenying(undefined)}
            onDenySubmit={(reason) => void decide(selected, { decision: 'deny', reason })}
          />
        </div>
      )}

      <ApprovalHistory decided={decided} selectedId={selected?.id} />
    </div>
  );
}

function useConnection(client: EngineClient): ConnectionState {
  const [state, setState] = useState<ConnectionState>('live');
  useEffect(() => client.onConnection(setState), [client]);
  return state;
}
