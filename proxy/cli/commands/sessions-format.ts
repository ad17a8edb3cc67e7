import type { EventRecord, SessionRecord } from '../../audit/audit-types.js';
import { printable } from '../../common/printable.js';

// Text rendering for `sluice sessions`. Everything printed passes through `printable`: query
// text and application_name come from clients, and an escape sequence in them must not reach
// an auditor's terminal as one.

/** Longest rendering of one event's payload before it is cut (`--json` prints all of it). */
const MAX_PAYLOAD_CHARS = 400;

export function sessionTable(sessions: readonly SessionRecord[], now: number): string {
  const header = ['ID', 'STARTED', 'RESOURCE', 'SUBJECT', 'CLIENT', 'STATUS', 'STATEMENTS', 'ERRORS', 'DURATION'];
  const rows = sessions.map((session) => [
    session.id,
    formatTimestamp(session.startedAt),
    printable(session.resource),
    printable(session.identity.subject),
    printable(session.clientAddress),
    session.status,
    String(session.counters.statements),
    String(session.counters.errors),
    session.endedAt === null ? `${formatDuration(now - session.startedAt)}+` : formatDuration(session.endedAt - session.startedAt),
  ]);
  const numeric = new Set([6, 7, 8]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function sessionHeader(session: SessionRecord, now: number): string {
  const { identity, counters } = session;
  const duration = session.endedAt === null ? `still open after ${formatDuration(now - session.startedAt)}` : formatDuration(session.endedAt - session.startedAt);
  const lines: [string, string][] = [
    ['session', session.id],
    ['resource', `${printable(session.resource)} (${session.protocol})`],
    ['subject', `${printable(identity.subject)} (${printable(identity.method)}, issuer ${printable(identity.issuer)})`],
    ['groups', identity.groups.map((group) => printable(group)).join(', ') || '(none)'],
    ['client', `${printable(session.clientAddress)}${session.application ? `, application ${printable(session.application)}` : ''}`],
    ['started', formatTimestamp(session.startedAt)],
    ['ended', session.endedAt === null ? '-' : formatTimestamp(session.endedAt)],
    ['status', `${session.status} (${duration})`],
    ['counters', `${plural(counters.statements, 'statement')}, ${plural(counters.errors, 'error')}, ${plural(counters.rows, 'row')}`],
  ];
  return lines.map(([key, value]) => `${key.padEnd(9)}${value}\n`).join('');
}

export function eventLines(events: readonly EventRecord[]): string {
  const seqWidth = Math.max(3, ...events.map((event) => String(event.seq).length));
  const kindWidth = Math.max(4, ...events.map((event) => event.kind.length));
  const head = `${'SEQ'.padStart(seqWidth)}  ${'TIME (UTC)'.padEnd(15)}  ${'KIND'.padEnd(kindWidth)}  DETAIL`;
  const rows = events.map(
    (event) => `${String(event.seq).padStart(seqWidth)}  ${formatTimeOfDay(event.time)}  ${event.kind.padEnd(kindWidth)}  ${renderPayload(event.kind, event.payload)}`.trimEnd(),
  );
  return `${[head, ...rows].join('\n')}\n`;
}

/** One line for an event's payload: the kinds the gateway writes get a reading, others JSON. */
export function renderPayload(kind: string, payload: unknown): string {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  let text: string;
  switch (kind) {
    case 'query':
      text = renderQuery(p);
      break;
    case 'connect': {
      const identity = (p.identity ?? {}) as Record<string, unknown>;
      text = `${String(identity.subject ?? '?')} (${String(identity.method ?? '?')}) from ${String(p.client_address ?? '?')}${p.application ? `, application ${String(p.application)}` : ''} to ${String(p.resource ?? '?')}`;
      break;
    }
    case 'disconnect': {
      const counters = (p.counters ?? {}) as Record<string, unknown>;
      text = `${String(p.status ?? '?')}: ${plural(Number(counters.statements ?? 0), 'statement')}, ${plural(Number(counters.errors ?? 0), 'error')}, ${plural(Number(counters.rows ?? 0), 'row')}`;
      break;
    }
    default:
      text = JSON.stringify(payload) ?? '';
  }
  return cut(printable(text));
}

function renderQuery(p: Record<string, unknown>): string {
  const parts: string[] = [];
  const error = p.error as { code?: unknown; message?: unknown } | undefined;
  parts.push(p.outcome === 'error' ? `ERROR${error?.code ? ` ${String(error.code)}` : ''}` : 'ok');
  parts.push(typeof p.text === 'string' ? p.text.replace(/\s+/g, ' ').trim() : '?');
  if (Array.isArray(p.params) && p.params.length > 0) {
    parts.push(`params ${p.params.map((value, index) => `$${index + 1}=${value === null ? 'NULL' : JSON.stringify(value)}`).join(' ')}`);
  }
  if (typeof p.rows === 'number' && p.outcome !== 'error') parts.push(plural(p.rows, 'row'));
  if (typeof p.duration_ms === 'number') parts.push(`${formatMillis(p.duration_ms)}`);
  if (error?.message !== undefined) parts.push(`— ${String(error.message)}`);
  return parts.join('  ');
}


export function formatTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `HH:MM:SS.mmmmmm` of a µs time. */
function formatTimeOfDay(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(11, 19)}.${String(Math.floor(micros % 1_000_000)).padStart(6, '0')}`;
}

export function formatDuration(ms: number): string {
  if (ms < 0) return '0s';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(minutes / 1_440)}d${String(Math.floor((minutes % 1_440) / 60)).padStart(2, '0')}h`;
}

function formatMillis(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : ms < 1_000 ? `${ms.toFixed(1)}ms` : formatDuration(ms);
}

function cut(text: string): string {
  return text.length <= MAX_PAYLOAD_CHARS ? text : `${text.slice(0, MAX_PAYLOAD_CHARS)}… (${text.length - MAX_PAYLOAD_CHARS} more chars; --json prints all)`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
