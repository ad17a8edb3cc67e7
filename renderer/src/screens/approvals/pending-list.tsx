import type { InboxApproval } from '../../../../main/ipc/bridge-types.js';
import type { Approval } from '../../../../proxy/api/api-contract.js';
import { oneLine, statementVerb } from './approval-words.js';
import { Countdown } from './countdown.js';

// The waiting requests, the one expiring soonest on top. Every row has the same height, so a
// request arriving never changes the size of another; the selected one is shown in full beside
// the list and does not move when rows come and go.

export interface PendingListProps {
  readonly pending: readonly Approval[];
  readonly selectedId: string | undefined;
  onSelect(id: string): void;
}

export function optionId(id: string): string {
  return `pending-${id}`;
}

export function PendingList({ pending, selectedId, onSelect }: PendingListProps) {
  const active = pending.some((approval) => approval.id === selectedId) ? selectedId : undefined;
  return (
    <ul className="pending-list" role="listbox" aria-label="Waiting requests" tabIndex={0} aria-activedescendant={active ? optionId(active) : undefined}>
      {pending.map((approval) => {
        const verb = statementVerb(approval.statement);
        // The desktop app's merged inbox names the gateway holding each request.
        const origin = (approval as InboxApproval).origin;
        return (
          <li
            key={approval.id}
            id={optionId(approval.id)}
            role="option"
            aria-selected={approval.id === selectedId}
            aria-label={`${verb} on ${approval.resource} by ${approval.requester.subject}`}
            data-approval-id={approval.id}
            className="pending-row"
            onClick={() => onSelect(approval.id)}
          >
            <span className="row-top">
              <span className="row-verb">{verb}</span>
              <span className="row-resource">{approval.resource}</span>
              <Countdown expiresAt={approval.expiresAt} />
            </span>
            <span className="row-who">
              {approval.requester.subject} · <span className="row-rule">{approval.rule}</span>
              {origin && (
                <>
                  {' '}
                  · <span className="row-origin">{origin}</span>
                </>
              )}
            </span>
            <code className="row-statement">{oneLine(approval.statement, 120)}</code>
          </li>
        );
      })}
    </ul>
  );
}
