import type { ReactNode } from 'react';
import type { ChainedEvent } from '../../../../proxy/common/audit-chain-types.js';
import type { BundleSessionRecord } from '../../../../proxy/common/bundle-format.js';
import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';
import { formatCount, formatDateTime, formatDuration } from '../../ui/format.js';
import type { ReplayerSession } from '../replayer/replayer.js';
import type { SessionSummary } from './bundle-core.js';

// The bundle's sessions as a list to pick from; the chosen one is replayed like a live session.

export function SessionList({ sessions, selected, unverified, onSelect }: { readonly sessions: readonly SessionSummary[]; readonly selected: string | undefined; readonly unverified: boolean; readonly onSelect: (id: string) => void }) {
  return (
    <section className="bundle-sessions" aria-labelledby="bundle-sessions-heading">
      <h2 id="bundle-sessions-heading">
        Sessions in the bundle <span className="muted count">{sessions.length}</span>
        {unverified && <span className="badge badge-deny unverified-tag">unverified</span>}
      </h2>
      {sessions.length === 0 ? (
        <p className="muted">The bundle holds no sessions (an export whose filter matched none, or whose sessions retention had removed).</p>
      ) : (
        <div className="table-scroll">
          <table className="data session-table">
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Started</th>
                <th scope="col">Caller</th>
                <th scope="col">Resource</th>
                <th scope="col">Status</th>
                <th scope="col">Events</th>
                <th scope="col">Length</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map(({ record, events }) => {
                const current = record.id === selected;
                return (
                  <tr key={record.id} className={current ? 'selected' : undefined} aria-selected={current} data-testid="bundle-session">
                    <td>
                      <button type="button" className="button session-open" aria-pressed={current} aria-label={`Replay session ${record.id}`} onClick={() => onSelect(record.id)}>
                        {current ? 'Replaying' : 'Replay'}
                      </button>{' '}
                      <code className="session-id" title={record.id}>
                        {record.id.slice(-8)}
                      </code>
                    </td>
                    <td>{formatDateTime(record.startedAt)}</td>
                    <td>
                      <strong>{record.identity.subject}</strong>
                      {record.identity.groups.length > 0 && <span className="muted"> · {record.identity.groups.join(', ')}</span>}
                    </td>
                    <td>
                      {record.resource} <span className="muted">({record.protocol})</span>
                    </td>
                    <td>
                      <span className={`badge badge-${record.status === 'closed' ? 'neutral' : record.status === 'open' ? 'open' : 'warn'}`}>{record.status}</span>
                    </td>
                    <td>{formatCount(events)}</td>
                    <td>{record.endedAt !== null ? formatDuration(record.endedAt - record.startedAt) : 'still open at export'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** A bundle's session line as the replayer's session. */
export function replayerSession(record: BundleSessionRecord): ReplayerSession {
  return {
    id: record.id,
    resource: record.resource,
    protocol: record.protocol,
    identity: { subject: record.identity.subject, issuer: record.identity.issuer, groups: record.identity.groups },
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    status: record.status,
    clientAddress: record.clientAddress,
    application: record.application,
  };
}

/** Chained events already carry what the transcript reads (seq, time, kind, payload): no copy of a 100k-event session. */
export function transcriptEvents(events: readonly ChainedEvent[]): readonly TranscriptEvent[] {
  return events;
}

/** The banner above the player: the bundle's verification, kept in view while replaying. */
export function ReplayBanner({ verified, children }: { readonly verified: boolean; readonly children: ReactNode }) {
  return (
    <div className={`replay-banner ${verified ? 'replay-banner-ok' : 'replay-banner-unverified'}`} role={verified ? 'note' : 'alert'} data-testid="replay-banner">
      {children}
    </div>
  );
}
