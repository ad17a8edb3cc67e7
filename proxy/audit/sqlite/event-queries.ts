import type { EventKind, EventRecord } from '../audit-types.js';
import type { SqliteConnection, SqlValue } from './sqlite-connection.js';
import type { EventRow } from '../event-chain.js';

// Events are written in batches: one event_batches row per session per commit (see migration
// 001), and read back one event at a time.


/** One session's events of one commit, as an event_batches row. */
class SessionBatch {
  readonly parts: string[] = [];
  lastSeq = 0;
  lastTime = 0;

  constructor(
    readonly sessionId: string,
    readonly firstSeq: number,
  ) {}
}

/** Groups a commit's events by session, in order: one row each. */
export function eventBatchParams(events: readonly EventRow[]): SqlValue[][] {
  const bySession = new Map<string, SessionBatch>();
  for (const event of events) {
    let batch = bySession.get(event.session_id);
    if (!batch) bySession.set(event.session_id, (batch = new SessionBatch(event.session_id, event.seq)));
    // kind is one of EventKind (plain identifiers), payload is JSON already: no re-encoding.
    batch.parts.push(`[${event.seq},${event.time},"${event.kind}",${event.payload},"${event.prev_hash}","${event.hash}"]`);
    batch.lastSeq = event.seq;
    batch.lastTime = event.time;
  }
  return [...bySession.values()].map((batch) => [batch.sessionId, batch.firstSeq, batch.lastSeq, batch.lastTime, `[${batch.parts.join(',')}]`]);
}

/** `INSERT … VALUES (?,?,?,?,?), …` for `rows` session batches. */
export function insertEventBatchesSql(rows: number): string {
  return `INSERT INTO event_batches (session_id, first_seq, last_seq, last_time, events) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ')}`;
}

export async function listEvents(db: SqliteConnection, sessionId: string): Promise<EventRecord[]> {
  const rows = await db.all<{ events: string }>('SELECT events FROM event_batches WHERE session_id = ? ORDER BY first_seq', [sessionId]);
  const events: EventRecord[] = [];
  for (const row of rows) {
    for (const [seq, time, kind, payload, prevHash, hash] of JSON.parse(row.events) as [number, number, EventKind, unknown, string, string][]) {
      events.push({ sessionId, seq, time, kind, payload, prevHash, hash });
    }
  }
  return events;
}
