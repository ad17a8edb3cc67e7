import { useEffect, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { SessionMark } from '../../../../proxy/api/api-contract.js';
import { navigate, routeHash } from '../../app/routes.js';
import { formatCount, formatDateTime, formatDuration, formatTime } from '../../ui/format.js';
import type { SessionRow } from './live-sessions.js';

// The sessions, newest first. Fixed column widths and tabular numbers: counters ticking up and
// sessions arriving never move the columns. Each row opens the player (click, or Enter on its
// link); ↑/↓ move between rows.

const MARK_BADGES: Readonly<Record<SessionMark, { readonly label: string; readonly className: string }>> = {
  denial: { label: 'denied', className: 'badge-deny' },
  approval: { label: 'approval', className: 'badge-approval' },
  masking: { label: 'masked', className: 'badge-mask' },
  error: { label: 'error', className: 'badge-error' },
};

export function SessionsTable({ rows }: { readonly rows: readonly SessionRow[] }) {
  const showGateway = rows.some((row) => row.session.gateway);
  const now = useNow(rows.some((row) => row.session.status === 'open'));
  return (
    <table className="data sessions-table" onKeyDown={moveBetweenRows}>
      <colgroup>
        <col className="col-started" />
        <col className="col-duration" />
        <col className="col-resource" />
        <col className="col-protocol" />
        <col className="col-caller" />
        <col className="col-status" />
        <col className="col-count" />
        <col className="col-count" />
        <col className="col-count" />
        {showGateway && <col className="col-gateway" />}
        <col className="col-marks" />
      </colgroup>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Resource</th>
          <th scope="col">Protocol</th>
          <th scope="col">Caller</th>
          <th scope="col">Status</th>
          <th scope="col" className="number" title="Statements">
            Stmts
          </th>
          <th scope="col" className="number">
            Errors
          </th>
          <th scope="col" className="number">
            Rows
          </th>
          {showGateway && <th scope="col">Gateway</th>}
          <th scope="col">Marks</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <SessionRowView key={row.session.id} row={row} now={now} showGateway={showGateway} />
        ))}
      </tbody>
    </table>
  );
}

function SessionRowView({ row, now, showGateway }: { row: SessionRow; now: number; showGateway: boolean }) {
  const { session, counters } = row;
  const href = routeHash({ screen: 'replay', id: session.id });
  const open = session.status === 'open';
  const onClick = (event: MouseEvent<HTMLTableRowElement>) => {
    // The link handles its own click; text being selected is not a click to open.
    if (event.target instanceof Element && event.target.closest('a')) return;
    if (globalThis.getSelection?.()?.toString()) return;
    navigate({ screen: 'replay', id: session.id });
  };
  const count = (n: number) => (row.complete ? formatCount(n) : `≥ ${formatCount(n)}`);
  return (
    <tr className={`session-row${open ? ' session-open' : ''}`} onClick={onClick} data-session={session.id}>
      <td>
        <a className="session-link" href={href} aria-label={`Replay the session of ${session.identity.subject} on ${session.resource} started ${formatDateTime(session.startedAt)}`}>
          <time dateTime={new Date(session.startedAt).toISOString()} title={formatDateTime(session.startedAt)}>
            {sameDay(session.startedAt, now) ? formatTime(session.startedAt) : formatDateTime(session.startedAt)}
          </time>
        </a>
      </td>
      <td className="number">{formatDuration((session.endedAt ?? now) - session.startedAt)}</td>
      <td className="cell-text" title={session.resource}>
        {session.resource}
      </td>
      <td>{session.protocol}</td>
      <td className="cell-text" title={`${session.identity.subject} (${session.identity.issuer})${session.identity.groups.length > 0 ? ` · groups: ${session.identity.groups.join(', ')}` : ''}`}>
        {session.identity.subject}
        {session.application && <span className="muted cell-sub">{session.application}</span>}
      </td>
      <td>
        <span className={`badge badge-${session.status}`}>{open ? '● live' : session.status}</span>
      </td>
      <td className="number">{count(counters.statements)}</td>
      <td className={`number${counters.errors > 0 ? ' has-errors' : ''}`}>{count(counters.errors)}</td>
      <td className="number">{count(counters.rows)}</td>
      {showGateway && (
        <td className="cell-text" title={session.gateway}>
          <code>{session.gateway ?? ''}</code>
        </td>
      )}
      <td className="cell-marks">
        {row.marks.map((mark) => (
          <span key={mark} className={`badge ${MARK_BADGES[mark].className}`}>
            {MARK_BADGES[mark].label}
          </span>
        ))}
      </td>
    </tr>
  );
}

/** ↑ / ↓ on a row's link: the previous or next row's link. */
function moveBetweenRows(event: KeyboardEvent<HTMLTableElement>): void {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const link = event.target instanceof Element ? event.target.closest('a.session-link') : null;
  const row = link?.closest('tr');
  if (!row) return;
  const next = (event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling)?.querySelector<HTMLAnchorElement>('a.session-link');
  if (!next) return;
  event.preventDefault();
  next.focus();
}

function sameDay(a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

/** The time, every second while something is live (open sessions' durations tick). */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}
