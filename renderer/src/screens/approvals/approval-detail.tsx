import type { InboxApproval } from '../../../../main/ipc/bridge-types.js';
import type { Approval, WhoAmI } from '../../../../proxy/api/api-contract.js';
import { routeHash } from '../../app/routes.js';
import { formatAgo, formatDateTime, formatTime } from '../../ui/format.js';
import { SqlCode } from '../../ui/sql-code.js';
import { approveVotes, CI_CLAIMS, decidedBy, STATUS_LABEL, statementVerb } from './approval-words.js';
import { Countdown, useNow } from './countdown.js';
import { DecisionBar, type DecisionBarProps } from './decision-bar.js';

// One request in full, in the order an approver reads it: what and where, why it is held, the
// exact statement, who asks (with the CI claims that say which pipeline), the session so far,
// votes; the decision bar stays pinned at the bottom of the screen.

export interface ApprovalDetailProps extends Omit<DecisionBarProps, 'approval' | 'me' | 'expired'> {
  readonly approval: Approval;
  readonly whoami: WhoAmI;
}

export function ApprovalDetail({ approval, whoami, ...decision }: ApprovalDetailProps) {
  const now = useNow();
  const pending = approval.status === 'pending';
  const titleId = `approval-title-${approval.id}`;
  return (
    <article className={`approval-detail card approval-${approval.status}`} aria-labelledby={titleId} data-approval-detail={approval.id}>
      <header className="approval-head">
        <div className="approval-title">
          <h2 id={titleId}>
            <span className="verb">{statementVerb(approval.statement)}</span> on <span className="resource">{approval.resource}</span>
          </h2>
          <p className="approval-sub muted">
            by <strong className="requester-name">{approval.requester.subject}</strong> · requested {formatTime(approval.requestedAt)} ({formatAgo(approval.requestedAt, now)}) · <span className="approval-id">#{approval.id}</span>
          </p>
        </div>
        <div className="approval-state">
          {pending ? <Countdown expiresAt={approval.expiresAt} /> : <span className={`badge badge-${approval.status} badge-large`}>{STATUS_LABEL[approval.status]}</span>}
          <Quorum approval={approval} />
        </div>
      </header>

      <Risk approval={approval} />

      <section className="approval-statement" aria-label="Statement">
        <h3>Statement</h3>
        <SqlCode sql={approval.statement} plain={approval.protocol !== 'postgres'} />
        {approval.params && approval.params.length > 0 && (
          <table className="approval-params" aria-label="Bound parameters">
            <tbody>
              {approval.params.map((value, index) => (
                <tr key={index}>
                  <th scope="row">${index + 1}</th>
                  <td>{value === null ? <span className="null">NULL</span> : <code>{value}</code>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {!pending && <Outcome approval={approval} />}

      <div className="approval-facts">
        <Requester approval={approval} />
        <section aria-label="Where">
          <h3>Where</h3>
          <dl>
            <dt>Resource</dt>
            <dd>
              <strong>{approval.resource}</strong> <span className="muted">({approval.protocol})</span>
            </dd>
            <dt>Session</dt>
            <dd>
              {whoami.roles.includes('auditors') ? (
                <a href={routeHash({ screen: 'replay', id: approval.sessionId })} title="Open the session's recording">
                  <code>{approval.sessionId}</code>
                </a>
              ) : (
                <code>{approval.sessionId}</code>
              )}
            </dd>
            {(approval as InboxApproval).origin && (
              <>
                <dt>From</dt>
                <dd title="The gateway holding this request: this computer's own, or a remote one from Settings">{(approval as InboxApproval).origin}</dd>
              </>
            )}
            {approval.gateway && (
              <>
                <dt>Gateway</dt>
                <dd title="The gateway holding the statement (its signing key id); gateways sharing one audit store share one approval queue">
                  <code>{approval.gateway}</code>
                </dd>
              </>
            )}
            <dt>Requested</dt>
            <dd>{formatDateTime(approval.requestedAt)}</dd>
            <dt>Expires</dt>
            <dd>{formatDateTime(approval.expiresAt)}</dd>
          </dl>
        </section>
      </div>

      <section className="approval-history" aria-label="Earlier in this session">
        <h3>
          Earlier in this session <span className="muted">({approval.history.length})</span>
        </h3>
        {approval.history.length === 0 ? (
          <p className="muted">Nothing: this is the session's first statement.</p>
        ) : (
          <ol className="history-statements" start={1}>
            {approval.history.map((statement, index) => (
              <li key={index}>
                <SqlCode sql={statement} className="sql-small" plain={approval.protocol !== 'postgres'} />
              </li>
            ))}
          </ol>
        )}
      </section>

      {pending && <DecisionBar approval={approval} me={whoami} expired={approval.expiresAt <= now} {...decision} />}
    </article>
  );
}

/** Why it is held: the deciding rule's reasons first; other rules that matched (e.g. the allow it overrides) after. */
function Risk({ approval }: { readonly approval: Approval }) {
  const steps = approval.reasons.map((line) => {
    const at = line.indexOf(': ');
    return at > 0 ? { rule: line.slice(0, at), why: line.slice(at + 2) } : { rule: '', why: line };
  });
  const deciding = steps.filter((step) => step.rule === approval.rule || step.rule === '');
  const others = steps.filter((step) => !deciding.includes(step));
  return (
    <section className="approval-risk" aria-label="Why approval is needed">
      <h3>
        <span aria-hidden="true">⚠</span> Held by rule <code>{approval.rule}</code>
      </h3>
      {approval.ruleReason && <p className="risk-headline">{approval.ruleReason}</p>}
      {deciding.length > 0 && (
        <ul>
          {deciding.map((step, index) => (
            <li key={index}>{step.why}</li>
          ))}
        </ul>
      )}
      {others.length > 0 && (
        <p className="risk-also">
          Also matched:{' '}
          {others.map((step, index) => (
            <span key={index}>
              {index > 0 && '; '}
              <code>{step.rule}</code> ({step.why})
            </span>
          ))}
        </p>
      )}
    </section>
  );
}

function Requester({ approval }: { readonly approval: Approval }) {
  const { requester } = approval;
  const ci = CI_CLAIMS.filter(({ key }) => requester.claims[key] !== undefined && requester.claims[key] !== '');
  const other = Object.keys(requester.claims).filter((key) => !CI_CLAIMS.some((claim) => claim.key === key));
  return (
    <section aria-label="Requested by">
      <h3>Requested by</h3>
      <dl>
        <dt>Subject</dt>
        <dd>
          <strong>{requester.subject}</strong>
        </dd>
        <dt>Issuer</dt>
        <dd>
          <code>{requester.issuer}</code> <span className="muted">({requester.method})</span>
        </dd>
        <dt>Groups</dt>
        <dd className="chips">{requester.groups.length > 0 ? requester.groups.map((group) => <span key={group} className="chip">{group}</span>) : <span className="muted">none</span>}</dd>
        {ci.map(({ key, label }) => (
          <ClaimRow key={key} label={label} value={requester.claims[key]!} />
        ))}
      </dl>
      {other.length > 0 && (
        <details className="other-claims">
          <summary>
            {other.length} other claim{other.length === 1 ? '' : 's'}
          </summary>
          <dl>
            {other.map((key) => (
              <ClaimRow key={key} label={key} value={requester.claims[key]!} />
            ))}
          </dl>
        </details>
      )}
    </section>
  );
}

function ClaimRow({ label, value }: { readonly label: string; readonly value: string | number | boolean }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>
        <code>{String(value)}</code>
      </dd>
    </>
  );
}

function Quorum({ approval }: { readonly approval: Approval }) {
  const votes = approveVotes(approval);
  const voters = approval.votes.map((vote) => `${vote.approver.subject} ${vote.decision === 'approve' ? 'approved' : 'denied'} at ${formatTime(vote.at)}`);
  return (
    <span className="quorum" title={voters.length > 0 ? voters.join('\n') : 'No votes yet'} aria-label={`${votes} of ${approval.quorum} approvals${voters.length > 0 ? `: ${voters.join('; ')}` : ''}`}>
      <span className="pips" aria-hidden="true">
        {Array.from({ length: approval.quorum }, (_, index) => (
          <span key={index} className={`pip${index < votes ? ' pip-on' : ''}`} />
        ))}
      </span>
      {votes} of {approval.quorum} approval{approval.quorum === 1 ? '' : 's'}
      {approval.votes.length > 0 && <span className="voters"> · {approval.votes.map((vote) => vote.approver.subject).join(', ')}</span>}
    </span>
  );
}

function Outcome({ approval }: { readonly approval: Approval }) {
  return (
    <section className={`approval-outcome outcome-${approval.status}`} aria-label="Outcome" role="status">
      <strong>{STATUS_LABEL[approval.status]}</strong>
      {approval.status === 'approved' || approval.status === 'denied' ? <> by {decidedBy(approval)}</> : null}
      {approval.decidedAt !== undefined && <> at {formatTime(approval.decidedAt)}</>}
      {approval.reason && <>: {approval.reason}</>}
      {approval.grantedUntil !== undefined && <span className="muted"> · granted for the session until {formatTime(approval.grantedUntil)}</span>}
      {approval.executedAt !== undefined && <span className="muted"> · ran at {formatTime(approval.executedAt)}</span>}
    </section>
  );
}
