import { formatDateTime, formatDuration } from '../../ui/format.js';
import type { ReplayerSession } from './replayer.js';

/** Who, where, from where and when: what an auditor checks before watching. */
export function SessionHeader({ session }: { readonly session: ReplayerSession }) {
  const { identity } = session;
  const ended = session.endedAt;
  return (
    <header className="replayer-head">
      <h1>
        <span className="replayer-subject">{identity.subject}</span> <span className="muted">on</span> {session.resource}{' '}
        <span className={`badge badge-${session.status}`}>{session.status}</span>
      </h1>
      <dl className="replayer-meta">
        <div>
          <dt>Session</dt>
          <dd>
            <code>{session.id}</code>
          </dd>
        </div>
        <div>
          <dt>Caller</dt>
          <dd title={`issuer ${identity.issuer}`}>
            {identity.subject}
            {identity.groups.length > 0 && <span className="muted"> ({identity.groups.join(', ')})</span>}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(session.startedAt)}</dd>
        </div>
        <div>
          <dt>{ended === null ? 'Open for' : 'Lasted'}</dt>
          <dd>{formatDuration((ended ?? Date.now()) - session.startedAt)}</dd>
        </div>
        <div>
          <dt>Protocol</dt>
          <dd>{session.protocol}</dd>
        </div>
        {(session.clientAddress || session.application) && (
          <div>
            <dt>Client</dt>
            <dd>{[session.application, session.clientAddress].filter(Boolean).join(' from ')}</dd>
          </div>
        )}
        {session.gateway && (
          <div>
            <dt>Gateway</dt>
            <dd>
              <code>{session.gateway}</code>
            </dd>
          </div>
        )}
      </dl>
    </header>
  );
}
