import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';
import { formatDateTime } from '../../ui/format.js';
import { Field, Fields } from './detail-fields.js';
import { num, record, str, strings } from './payload-fields.js';

// One approval across the session's events (approval-rules.ts writes them): requested with its
// rule, reasons and quorum, each vote with the approver and reason, and how it ended.

/** The approval an event belongs to: an approval event's id, or the one a decision or statement names. */
export function approvalIdOf(event: TranscriptEvent): string | undefined {
  const p = record(event.payload);
  if (event.kind === 'approval') return str(p.id);
  if (event.kind === 'query') return str(record(p.decision).approval);
  return str(p.approval);
}

const OUTCOMES: Readonly<Record<string, string>> = { approved: 'Approved', denied: 'Denied', expired: 'Expired', cancelled: 'Cancelled' };

export function ApprovalTrail({ id, events }: { id: string; events: readonly TranscriptEvent[] }) {
  const trail = events.filter((event) => event.kind === 'approval' && str(record(event.payload).id) === id).map((event) => ({ event, p: record(event.payload) }));
  const requested = trail.find(({ p }) => p.action === 'requested')?.p;
  const votes = trail.filter(({ p }) => p.action === 'vote');
  const outcome = trail.find(({ p }) => typeof p.action === 'string' && p.action in OUTCOMES);
  const executed = trail.find(({ p }) => p.action === 'executed');
  const reasons = strings(requested?.reasons);
  return (
    <section className="detail-section" aria-label={`Approval ${id}`}>
      <h3>
        Approval <code>{id}</code>
      </h3>
      <Fields>
        <Field name="Rule">{str(requested?.rule)}</Field>
        <Field name="Why it needed approval">{reasons.length > 0 ? reasons.join('; ') : undefined}</Field>
        <Field name="Quorum">{num(requested?.quorum)}</Field>
        <Field name="Expired at">{num(requested?.expires_at) !== undefined && outcome?.p.action === 'expired' ? formatDateTime(num(requested?.expires_at)!) : undefined}</Field>
        <Field name="Outcome">
          {outcome ? (
            <span className={`badge badge-${str(outcome.p.action)}`}>{OUTCOMES[str(outcome.p.action) ?? ''] ?? str(outcome.p.action)}</span>
          ) : trail.length > 0 ? (
            <span className="badge badge-approval">pending</span>
          ) : undefined}
          {outcome && strings(outcome.p.by).length > 0 ? ` by ${strings(outcome.p.by).join(', ')}` : ''}
        </Field>
        <Field name="Reason">{str(outcome?.p.reason) ?? str(outcome?.p.cause)}</Field>
        <Field name="Statement ran">{executed ? formatDateTime(executed.event.time / 1000) : undefined}</Field>
      </Fields>
      {votes.length > 0 && (
        <table className="data compact">
          <caption className="muted">Votes</caption>
          <thead>
            <tr>
              <th scope="col">Approver</th>
              <th scope="col">Vote</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {votes.map(({ event, p }) => (
              <tr key={event.seq}>
                <td>{str(record(p.approver).subject) ?? '?'}</td>
                <td>
                  <span className={`badge badge-${p.decision === 'deny' ? 'deny' : 'approve'}`}>{p.decision === 'deny' ? 'deny' : 'approve'}</span>
                  {p.scope === 'session' ? ' for the session' : ''}
                </td>
                <td>{str(p.reason) ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
