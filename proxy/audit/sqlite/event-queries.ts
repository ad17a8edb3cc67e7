import type { EventKind, EventRecord } from '../audit-types.js';
import type { SqliteConnection, SqlValue } from './sqlite-connection.js';

// The events table: append-only, keyed by (session_id, seq).

/** An event ready for the table: its payload is already JSON text. */
export interface EventRow {
  readonly session_id: string;
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly payload: string;
}

/** `INSERT … VALUES (?,?,?,?,?), …` for `rows` events: one statement writes many rows. */
export function insertEventsSql(rows: number): string {
  return `INSERT INTO events (session_id, seq, time, kind, payload) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ')}`;
}

export function insertEventsParams(events: readonly EventRow[]): SqlValue[] {
  const params: SqlValue[] = [];
  for (const event of events) params.push(event.session_id, event.seq, event.time, event.kind, event.payload);
  return params;
}

export async function listEvents(db: SqliteConnection, sessionId: string): Promise<EventRecord[]> {
  const rows = await db.all<EventRow>('SELECT session_id, seq, time, kind, payload FROM events WHERE session_id = ? ORDER BY seq', [sessionId]);
  return rows.map((row) => ({
    sessionId: row.session_id,
    seq: row.seq,
    time: row.time,
    kind: row.kind as EventKind,
    payload: JSON.parse(row.payload) as unknown,
  }));
}
