import type { SessionCounters, SessionQuery, SessionRecord, SessionStart, SessionStatus } from '../audit-types.js';
import type { SqliteConnection, SqlParams } from './sqlite-connection.js';

// The sessions table: one row per session, written at its start and updated at its end.

export const DEFAULT_SESSION_LIMIT = 50;

export const INSERT_SESSION_SQL =
  'INSERT INTO sessions (id, resource, protocol, identity, client_address, application, started_at, ended_at, status, counters) ' +
  "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'open', ?)";

export const END_SESSION_SQL = 'UPDATE sessions SET status = ?, ended_at = ?, counters = ? WHERE id = ?';

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

export function endSessionParams(id: string, status: 'closed' | 'aborted', endedAt: number, counters: SessionCounters): SqlParams {
  const { statements, errors, rows } = counters;
  return [status, endedAt, JSON.stringify({ statements, errors, rows }), id];
}

export function emptyCounters(): SessionCounters {
  return { statements: 0, errors: 0, rows: 0 };
}

/**
 * Sessions left 'open' by a previous run that stopped without ending them (a crash, a kill -9,
 * power loss) can never end now: mark them 'aborted'. Their end time is their last recorded
 * event, the last moment the store knows they were alive. Runs when the writer opens the store,
 * before this process begins any session of its own. Returns how many were marked.
 */
export async function abortOrphanedSessions(db: SqliteConnection): Promise<number> {
  const { changes } = await db.run(
    "UPDATE sessions SET status = 'aborted', " +
      'ended_at = coalesce((SELECT max(last_time) / 1000 FROM event_batches WHERE event_batches.session_id = sessions.id), started_at) ' +
      "WHERE status = 'open'",
  );
  return changes;
}

export async function listSessions(db: SqliteConnection, query: SessionQuery = {}): Promise<SessionRecord[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.resource !== undefined) {
    where.push('resource = ?');
    params.push(query.resource);
  }
  if (query.status !== undefined) {
    where.push('status = ?');
    params.push(query.status);
  }
  params.push(sessionLimit(query.limit));
  const rows = await db.all<SessionRow>(
    `SELECT * FROM sessions ${where.length > 0 ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY started_at DESC, id DESC LIMIT ?`,
    params,
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
