import type { EventRecord, SessionMark, SessionRecord } from '../../../../proxy/api/api-contract.js';
import { markOf } from '../replayer/markers.js';
import { record, str } from '../replayer/payload-fields.js';
import { MARKS, recordMatches, type SessionFilters } from './session-filters.js';

// The sessions list as the engine's events change it, as plain functions of (state, event):
// a session starting is added in its place (newest first), an appended event moves an open
// session's counters and marks, a session ending takes its final record. A session that
// started after the list loaded but does not match `had` or `search` yet is kept hidden until
// one of its events makes it match.

type SessionCounters = SessionRecord['counters'];

export interface SessionRow {
  readonly session: SessionRecord;
  /** What happened in it, as far as the console knows (the record's marks, then live events). */
  readonly marks: readonly SessionMark[];
  readonly counters: SessionCounters;
  /**
   * Whether the counters count all of the session: true for ended sessions and for open ones
   * whose events were read; false for an open one counted only from events seen live.
   */
  readonly complete: boolean;
  /** The last event counted: events at or before it are not counted again. */
  readonly lastSeq: number;
  /** Shown in the list (a hidden row waits to match `had` or `search`). */
  readonly shown: boolean;
  /** A statement held the searched text (for rows that started after the list loaded). */
  readonly searchHit: boolean;
}

/** The marks a session record carries, when the store reports them (absent: unknown). */
export function recordMarks(session: SessionRecord): SessionMark[] {
  const marks = (session as SessionRecord & { readonly marks?: unknown }).marks;
  return Array.isArray(marks) ? MARKS.filter((mark) => marks.includes(mark)) : [];
}

export function rowsFromList(sessions: readonly SessionRecord[]): SessionRow[] {
  return sessions.map((session) => ({
    session,
    marks: recordMarks(session),
    counters: session.counters,
    complete: session.status !== 'open',
    // An ended session gets no more events; an open one counts from the events read for it.
    lastSeq: session.status === 'open' ? 0 : Number.POSITIVE_INFINITY,
    shown: true,
    searchHit: false,
  }));
}

export function sessionStarted(rows: readonly SessionRow[], session: SessionRecord, filters: SessionFilters): readonly SessionRow[] {
  if (rows.some((row) => row.session.id === session.id)) return rows;
  const row: SessionRow = {
    session,
    marks: recordMarks(session),
    counters: session.counters,
    complete: true,
    lastSeq: 0,
    shown: false,
    searchHit: false,
  };
  const placed = { ...row, shown: matches(row, filters) };
  // Newest first, as the store orders them (started_at DESC, id DESC).
  const at = rows.findIndex((other) => other.session.startedAt < session.startedAt || (other.session.startedAt === session.startedAt && other.session.id < session.id));
  return at === -1 ? [...rows, placed] : [...rows.slice(0, at), placed, ...rows.slice(at)];
}

export function sessionEnded(rows: readonly SessionRow[], session: SessionRecord, filters: SessionFilters): readonly SessionRow[] {
  return updateRow(rows, session.id, (row) => {
    const marks = union(row.marks, recordMarks(session));
    const next = { ...row, session, marks, counters: session.counters, complete: true, lastSeq: Number.POSITIVE_INFINITY };
    return row.shown ? next : { ...next, shown: matches(next, filters) };
  });
}

export function eventAppended(rows: readonly SessionRow[], event: EventRecord, filters: SessionFilters): readonly SessionRow[] {
  return updateRow(rows, event.sessionId, (row) => {
    if (event.seq <= row.lastSeq) return row;
    const next = counted(row, event, filters);
    return row.shown ? next : { ...next, shown: matches(next, filters) };
  });
}

/** An open session's events read in full: its counters and marks from all of them. */
export function eventsRead(rows: readonly SessionRow[], sessionId: string, events: readonly EventRecord[], filters: SessionFilters): readonly SessionRow[] {
  return updateRow(rows, sessionId, (row) => {
    if (row.complete && row.lastSeq === Number.POSITIVE_INFINITY) return row;
    let next: SessionRow = { ...row, counters: { statements: 0, errors: 0, rows: 0 }, marks: recordMarks(row.session), lastSeq: 0 };
    for (const event of events) next = counted(next, event, filters);
    return { ...next, complete: true, shown: row.shown || matches(next, filters) };
  });
}

/** Marks learned from the gateway (`sessions.list` with `had`), added to what the rows know. */
export function marksFound(rows: readonly SessionRow[], found: ReadonlyMap<string, readonly SessionMark[]>): readonly SessionRow[] {
  return rows.map((row) => {
    const marks = found.get(row.session.id);
    return marks ? { ...row, marks: union(row.marks, marks) } : row;
  });
}

function counted(row: SessionRow, event: EventRecord, filters: SessionFilters): SessionRow {
  const p = record(event.payload);
  let counters = row.counters;
  if (event.kind === 'query') {
    const failed = p.outcome === 'error' || p.error !== undefined;
    const rows = typeof p.rows === 'number' && Number.isFinite(p.rows) ? p.rows : 0;
    counters = { statements: counters.statements + 1, errors: counters.errors + (failed ? 1 : 0), rows: counters.rows + rows };
  }
  const mark = markOf(event);
  const text = str(p.text);
  const searchHit = row.searchHit || (filters.search !== undefined && (event.kind === 'query' || event.kind === 'decision') && text !== undefined && text.toLowerCase().includes(filters.search.toLowerCase()));
  return { ...row, counters, marks: mark ? union(row.marks, [mark]) : row.marks, lastSeq: event.seq, searchHit };
}

function matches(row: SessionRow, filters: SessionFilters): boolean {
  if (!recordMatches(row.session, filters)) return false;
  if (!filters.had.every((mark) => row.marks.includes(mark))) return false;
  return filters.search === undefined || row.searchHit;
}

function updateRow(rows: readonly SessionRow[], id: string, update: (row: SessionRow) => SessionRow): readonly SessionRow[] {
  const at = rows.findIndex((row) => row.session.id === id);
  if (at === -1) return rows;
  const next = update(rows[at]!);
  if (next === rows[at]) return rows;
  const copy = rows.slice();
  copy[at] = next;
  return copy;
}

function union(a: readonly SessionMark[], b: readonly SessionMark[]): readonly SessionMark[] {
  if (b.every((mark) => a.includes(mark))) return a;
  return MARKS.filter((mark) => a.includes(mark) || b.includes(mark));
}
