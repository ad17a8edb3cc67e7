import type { Approval } from '../../../../proxy/api/api-contract.js';
import { routeHash } from '../../app/routes.js';
import { formatAgo, formatTime } from '../../ui/format.js';
import { decidedBy, oneLine, STATUS_LABEL, statementVerb } from './approval-words.js';
import { useNow } from './countdown.js';

// Decided, expired and cancelled requests, the latest first: what happened, who decided, why.

export function ApprovalHistory({ decided, selectedId }: { readonly decided: readonly Approval[]; readonly selectedId: string | undefined }) {
  const now = useNow(15_000);
  return (
    <section className="approvals-history" aria-labelledby="approvals-history-title">
      <h2 id="approvals-history-title">
        History <span className="muted">({decided.length})</span>
      </h2>
      {decided.length === 0 ? (
        <p className="muted">Decided requests move here, with who decided and why.</p>
      ) : (
        <table className="data history-table">
          <thead>
            <tr>
              <th scope="col">Outcome</th>
              <th scope="col">Request</th>
              <th scope="col">Requested by</th>
              <th scope="col">Decided by</th>
              <th scope="col">Reason</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {decided.map((approval) => (
              <tr key={approval.id} data-history-id={approval.id} aria-current={approval.id === selectedId ? 'true' : undefined}>
                <td>
                  <span className={`badge badge-${approval.status}`}>{STATUS_LABEL[approval.status]}</span>
                </td>
                <td className="history-request">
                  <a href={routeHash({ screen: 'approvals', id: approval.id })} title="Show this request in full">
                    {statementVerb(approval.statement)} on {approval.resource}
                  </a>
                  <code className="history-statement">{oneLine(approval.statement, 100)}</code>
                </td>
                <td>{approval.requester.subject}</td>
                <td>{decidedBy(approval)}</td>
                <td className="history-reason">{approval.reason ?? <span className="muted">—</span>}</td>
                <td title={approval.decidedAt !== undefined ? new Date(approval.decidedAt).toISOString() : undefined}>
                  {approval.decidedAt !== undefined ? (
                    <>
                      {formatTime(approval.decidedAt)} <span className="muted">({formatAgo(approval.decidedAt, now)})</span>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
