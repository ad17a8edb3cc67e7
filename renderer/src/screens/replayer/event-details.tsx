import { memo } from 'react';
import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';
import { formatCount, formatDateTime } from '../../ui/format.js';
import { SqlCode } from '../../ui/sql-code.js';
import { ApprovalTrail, approvalIdOf } from './approval-trail.js';
import { EffectBadge, Field, Fields } from './detail-fields.js';
import { markerLabel, type Marker } from './markers.js';
import { list, maskedCounts, num, record, str, strings, type Payload } from './payload-fields.js';

// The side panel: one event as readable fields (the statement highlighted, the decision trace
// as a table, masking hits per rule, an approval's votes, a limit's numbers), with the raw
// payload folded away below for whatever the fields leave out.

export interface EventDetailsProps {
  readonly event: TranscriptEvent | undefined;
  /** The whole session, for what spans events (an approval's votes). */
  readonly events: readonly TranscriptEvent[];
  /** The marker this event makes, if it is one. */
  readonly marker: Marker | undefined;
}

const KIND_NAMES: Readonly<Record<string, string>> = {
  connect: 'Connected',
  query: 'Statement',
  decision: 'Policy decision',
  approval: 'Approval',
  limit: 'Limit reached',
  error: 'Error',
  notice: 'Notice',
  disconnect: 'Disconnected',
  output: 'Terminal output',
  config: 'Configuration change',
};

export const EventDetails = memo(function EventDetails({ event, events, marker }: EventDetailsProps) {
  if (!event) {
    return (
      <aside className="event-details" aria-label="Event details">
        <h2>Event details</h2>
        <p className="muted">
          Select a marker on the timeline, or press <kbd>n</kbd> / <kbd>p</kbd> to step through them: the event's decision trace, masking hits or approval votes show here.
        </p>
      </aside>
    );
  }
  const p = record(event.payload);
  return (
    <aside className="event-details" aria-label="Event details">
      <header className="event-details-head">
        <h2>
          {KIND_NAMES[event.kind] ?? event.kind} <span className="muted">#{event.seq}</span>
        </h2>
        <time className="muted" dateTime={new Date(event.time / 1000).toISOString()}>
          {formatDateTime(event.time / 1000)}
        </time>
      </header>
      {marker && <p className={`event-summary event-summary-${marker.kind}`}>{markerLabel(marker)}</p>}
      <KindDetails event={event} p={p} events={events} />
      <details className="raw-json">
        <summary>Recorded payload (JSON)</summary>
        <pre>{JSON.stringify(event.payload, null, 2)}</pre>
      </details>
    </aside>
  );
});

function KindDetails({ event, p, events }: { event: TranscriptEvent; p: Payload; events: readonly TranscriptEvent[] }) {
  const approval = approvalIdOf(event);
  switch (event.kind) {
    case 'decision':
      return (
        <>
          <Statement text={str(p.text)} />
          <Fields>
            <Field name="Effect">
              <EffectBadge effect={str(p.effect)} />
            </Field>
            <Field name="Rule">{str(p.rule) === 'masking' ? 'masking (the masking guard)' : str(p.rule)}</Field>
            <Field name="Reason">{str(p.reason)}</Field>
            {p.granted_until !== undefined && <Field name="Session grant until">{num(p.granted_until) !== undefined ? formatDateTime(num(p.granted_until)!) : String(p.granted_until)}</Field>}
          </Fields>
          <Trace steps={list(p.trace)} />
          <Classification statements={list(p.statements)} />
          {approval && <ApprovalTrail id={approval} events={events} />}
        </>
      );
    case 'query':
      return <QueryDetails p={p} approval={approval} events={events} />;
    case 'approval':
      return approval ? <ApprovalTrail id={approval} events={events} /> : <Generic p={p} />;
    case 'limit':
      return (
        <>
          <Statement text={str(p.text)} />
          <Fields>
            <Field name="Limit">{str(p.limit)}</Field>
            <Field name="Value">{num(p.value) !== undefined ? formatCount(num(p.value)!) : undefined}</Field>
            <Field name="Set by">{str(p.rule)}</Field>
            <Field name="What the gateway did">{str(p.action)}</Field>
            <Field name="Rows by then">{num(p.rows) !== undefined ? formatCount(num(p.rows)!) : undefined}</Field>
          </Fields>
          {approval && <ApprovalTrail id={approval} events={events} />}
        </>
      );
    case 'error':
      return (
        <Fields>
          <Field name="Message">{str(p.message)}</Field>
          <Field name="SQLSTATE">{str(p.code)}</Field>
          <Field name="From">{str(p.source)}</Field>
        </Fields>
      );
    case 'connect': {
      const identity = record(p.identity);
      return (
        <Fields>
          <Field name="Caller">{str(identity.subject)}</Field>
          <Field name="Issuer">{str(identity.issuer)}</Field>
          <Field name="Groups">{strings(identity.groups).join(', ') || undefined}</Field>
          <Field name="Resource">{str(p.resource)}</Field>
          <Field name="Client">{str(p.client_address)}</Field>
          <Field name="Application">{str(p.application)}</Field>
        </Fields>
      );
    }
    case 'disconnect': {
      const counters = record(p.counters);
      return (
        <Fields>
          <Field name="Status">{str(p.status)}</Field>
          <Field name="Statements">{num(counters.statements)}</Field>
          <Field name="Errors">{num(counters.errors)}</Field>
          <Field name="Rows">{num(counters.rows)}</Field>
        </Fields>
      );
    }
    default:
      return <Generic p={p} />;
  }
}

function QueryDetails({ p, approval, events }: { p: Payload; approval: string | undefined; events: readonly TranscriptEvent[] }) {
  const decision = record(p.decision);
  const error = record(p.error);
  const masked = maskedCounts(p);
  const params = list(p.params);
  const sample = record(p.sample);
  return (
    <>
      <Statement text={str(p.text)} />
      {params.length > 0 && (
        <Fields>
          {params.map((value, index) => (
            <Field key={index} name={`$${index + 1}`}>
              <code>{value === null ? 'NULL' : String(value)}</code>
            </Field>
          ))}
        </Fields>
      )}
      <Fields>
        <Field name="Outcome">{str(p.outcome)}</Field>
        {str(decision.effect) && (
          <Field name="Decision">
            <EffectBadge effect={str(decision.effect)} /> by rule {str(decision.rule) ?? '?'}
            {str(decision.approval) ? ` (approval ${str(decision.approval)})` : ''}
          </Field>
        )}
        <Field name="Rows">{num(p.rows) !== undefined ? formatCount(num(p.rows)!) : undefined}</Field>
        <Field name="Took">{num(p.duration_ms) !== undefined ? `${num(p.duration_ms)!.toFixed(1)} ms` : undefined}</Field>
        <Field name="Result">{strings(p.tags).join(', ') || undefined}</Field>
        {str(error.message) && <Field name="Error">{`${str(error.message)}${str(error.code) ? ` (SQLSTATE ${str(error.code)})` : ''}`}</Field>}
        {Array.isArray(sample.rows) && <Field name="Rows recorded">{`${sample.rows.length}${sample.truncated === true ? ' (sample cut short)' : ''}`}</Field>}
      </Fields>
      {masked.length > 0 && (
        <section className="detail-section">
          <h3>Masking hits</h3>
          <table className="data compact">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Cells masked</th>
              </tr>
            </thead>
            <tbody>
              {masked.map(([rule, count]) => (
                <tr key={rule}>
                  <td>
                    <span className="badge badge-mask">{rule}</span>
                  </td>
                  <td className="number">{formatCount(count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {approval && <ApprovalTrail id={approval} events={events} />}
    </>
  );
}

function Trace({ steps }: { steps: readonly unknown[] }) {
  if (steps.length === 0) return null;
  return (
    <section className="detail-section">
      <h3>Decision trace</h3>
      <table className="data compact">
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Effect</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((step, index) => {
            const s = record(step);
            return (
              <tr key={index}>
                <td>{str(s.rule)}</td>
                <td>
                  <EffectBadge effect={str(s.effect)} />
                </td>
                <td>{str(s.why)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Classification({ statements }: { statements: readonly unknown[] }) {
  if (statements.length === 0) return null;
  return (
    <section className="detail-section">
      <h3>What the statement does</h3>
      <Fields>
        {statements.map((statement, index) => {
          const s = record(statement);
          const parts = [
            strings(s.reads).length > 0 ? `reads ${strings(s.reads).join(', ')}` : undefined,
            strings(s.writes).length > 0 ? `writes ${strings(s.writes).join(', ')}` : undefined,
            strings(s.flags).length > 0 ? `flags ${strings(s.flags).join(', ')}` : undefined,
          ].filter(Boolean);
          return (
            <Field key={index} name={str(s.kind) ?? 'statement'}>
              {parts.join('; ') || '—'}
            </Field>
          );
        })}
      </Fields>
    </section>
  );
}

function Generic({ p }: { p: Payload }) {
  const simple = Object.entries(p).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value));
  if (simple.length === 0) return null;
  return (
    <Fields>
      {simple.map(([key, value]) => (
        <Field key={key} name={key}>
          {String(value)}
        </Field>
      ))}
    </Fields>
  );
}

function Statement({ text }: { text: string | undefined }) {
  return text ? <SqlCode sql={text} className="detail-sql" /> : null;
}
