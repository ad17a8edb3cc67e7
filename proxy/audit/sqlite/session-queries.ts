import type { SessionCounters, SessionQuery, SessionRecord, SessionStart, SessionStatus } from '../audit-types.js';
import type { Ledger } from '../event-chain.js';
import { INSERT_LEDGER_SQL } from './ledger-queries.js';
import { listSessionsByEvents, readsEvents, rowFilter } from './session-filters.js';
import type { SqliteConnection, SqlParams } from './sqlite-connection.js';

// The sessions table: one row per session, written at its start and updated at its end.

export const DEFAULT_SESSION_LIMIT = 50;

export const INSERT_SESSION_SQL =
  'INSERT INTO sessions (id, resource, protocol, identity, client_address, application, started_at, ended_at, status, counters) ' +
  "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'open', ?)";

export const END_SESSION_SQL = 'UPDATE sessions SET status = ?, ended_at = ?, counters = ?, final_hash = ? WHERE id = ?';

export interface SessionRow {
  readonly id: string;
  readonly resource: string;
  readonly protocol: string;
  readonly identity: string;
  readonly client_address: string;
  readonly application: string | null;
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly status: string;
  readonly counters: string;
}

export function insertSessionParams(id: string, start: SessionStart, startedAt: number): SqlParams {
  const { subject, issuer, method, groups } = start.identity;
  return [
    id,
    start.resource,
    start.protocol,
    // Only these four fields: an identity's claims are not the store's to keep.
    JSON.stringify({ subject, issuer, method, groups }),
    start.clientAddress,
    start.application,
    startedAt,
    JSON.stringify(emptyCounters()),
  ];
}

export function endSessionParams(id: string, status: 'closed' | 'aborted', endedAt: number, counters: SessionCounters, finalHash: string): SqlParams {
  const { statements, errors, rows } = counters;
  return [status, endedAt, JSON.stringify({ statements, errors, rows }), finalHash, id];
}

export function emptyCounters(): SessionCounters {
  return { statements: 0, errors: 0, rows: 0 };
}

/**
 * Sessions left 'open' by a previous run that stopped without ending them (a crash, a kill -9,
 * power loss) can never end now: mark them 'aborted' and seal them at their last recorded event
 * (their end time is that event's, the last moment the store knows they were alive), with a
 * ledger seal entry, in one transaction. Runs when the writer opens the store, before this
 * process begins any session of its own. Returns how many were sealed.
 */
export async function sealOrphanedSessions(db: SqliteConnection, ledger: Ledger): Promise<number> {
  const open = await db.all<{ id: string; started_at: number; events: string | null }>(
    "SELECT id, started_at, (SELECT events FROM event_batches WHERE session_id = sessions.id ORDER BY first_seq DESC LIMIT 1) AS events FROM sessions WHERE status = 'open' ORDER BY started_at, id",
  );
  if (open.length === 0) return 0;
  await db.run('BEGIN IMMEDIATE');
  try {
    for (const session of open) {
      const last = session.events ? (JSON.parse(session.events) as [number, number, string, unknown, string, string][]).at(-1) : undefined;
      const time = last?.[1] ?? session.started_at * 1000;
      const seal = last?.[5];
      await db.run("UPDATE sessions SET status = 'aborted', ended_at = ?, final_hash = ? WHERE id = ?", [Math.floor(time / 1000), seal ?? null, session.id]);
      if (seal) {
        const entry = ledger.append('seal', session.id, seal, time);
        await db.run(INSERT_LEDGER_SQL, [entry.n, entry.kind, entry.session_id, entry.hash, entry.time, entry.prev, entry.entry_hash]);
      }
    }
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return open.length;
}

/** Newest first; session-filters.ts has how `had` and `search` stay fast. */
export async function listSessions(db: SqliteConnection, query: SessionQuery = {}): Promise<SessionRecord[]> {
  const limit = sessionLimit(query.limit);
  if (limit === 0) return [];
  if (readsEvents(query)) return (await listSessionsByEvents(db, query, limit)).map(toSessionRecord);
  const { where, params } = rowFilter(query);
  const rows = await db.all<SessionRow>(
    `SELECT s.* FROM sessions AS s ${where.length > 0 ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY s.started_at DESC, s.id DESC LIMIT ?`,
    [...params, limit],
  );
  return rows.map(toSessionRecord);
}

export async function getSession(db: SqliteConnection, id: string): Promise<SessionRecord | undefined> {
  const row = await db.get<SessionRow>('SELECT * FROM sessions WHERE id = ?', [id]);
  return row && toSessionRecord(row);
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  const identity = JSON.parse(row.identity) as SessionRecord['identity'];
  const counters = JSON.parse(row.counters) as Partial<SessionCounters>;
  return {
    id: row.id,
    resource: row.resource,
    // The table's CHECK constraints keep these within their unions.
    protocol: row.protocol as SessionRecord['protocol'],
    identity,
    clientAddress: row.client_address,
    application: row.application,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    status: row.status as SessionStatus,
    counters: { statements: counters.statements ?? 0, errors: counters.errors ?? 0, rows: counters.rows ?? 0 },
  };
}

function sessionLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_SESSION_LIMIT;
  return Math.max(0, Math.trunc(limit));
}
