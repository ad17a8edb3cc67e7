import type pg from 'pg';
import type { LedgerEntry, PrunedSession } from '../../common/audit-chain-types.js';
import type { ChainRecords, EventKind, EventRecord, GatewayRecord, SessionQuery, SessionRecord, SessionStatus } from '../audit-types.js';
import { passingEvents, readsEvents, rowFilter } from './session-filters.js';

// Reading the shared store: sessions of every gateway, each gateway's chain records apart.

const DEFAULT_SESSION_LIMIT = 50;

type Queryable = Pick<pg.ClientBase, 'query'>;

interface SessionRow {
  readonly id: string;
  readonly gateway: string;
  readonly resource: string;
  readonly protocol: SessionRecord['protocol'];
  readonly identity: SessionRecord['identity'];
  readonly client_address: string;
  readonly application: string | null;
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly status: SessionStatus;
  readonly counters: Partial<SessionRecord['counters']>;
}

const SESSION_COLUMNS = 'id, gateway, resource, protocol, identity, client_address, application, started_at, ended_at, status, counters';

export async function listGateways(db: Queryable): Promise<GatewayRecord[]> {
  const { rows } = await db.query<{ id: string; name: string; public_key: string; first_seen: number; last_seen: number }>(
    'SELECT id, name, public_key, first_seen, last_seen FROM sluice.gateways ORDER BY first_seen, id',
  );
  return rows.map((row) => ({ id: row.id, name: row.name, publicKey: row.public_key, firstSeen: row.first_seen, lastSeen: row.last_seen }));
}

/** Sessions given to the event filters at once: the first chunk (at least the limit), and the largest. */
const FIRST_CHUNK = 50;
const LARGEST_CHUNK = 6_400;

/** Newest first. */
export async function listSessions(db: Queryable, query: SessionQuery = {}): Promise<SessionRecord[]> {
  const limit = sessionLimit(query.limit);
  if (limit === 0) return [];
  if (!readsEvents(query)) return (await sessionRows(db, query, limit)).map(toSessionRecord);
  // `had` and `search`: chunk by chunk of the sessions the row filters keep (session-filters.ts).
  const found: SessionRow[] = [];
  let after: SessionRow | undefined;
  let chunk = Math.min(Math.max(FIRST_CHUNK, limit), LARGEST_CHUNK);
  while (found.length < limit) {
    const candidates = await sessionRows(db, query, chunk, after);
    const passing = await passingEvents(db, candidates.map((row) => row.id), query);
    found.push(...candidates.filter((row) => passing.has(row.id)));
    if (candidates.length < chunk) break;
    after = candidates.at(-1);
    chunk = Math.min(chunk * 2, LARGEST_CHUNK);
  }
  return found.slice(0, limit).map(toSessionRecord);
}

/** The sessions the row filters keep, newest first, from the one after `after`. */
async function sessionRows(db: Queryable, query: SessionQuery, limit: number, after?: SessionRow): Promise<SessionRow[]> {
  const filter = rowFilter(query);
  const where = [...filter.where];
  const params = [...filter.params];
  if (after) where.push(`(s.started_at, s.id) < ($${params.push(after.started_at)}, $${params.push(after.id)})`);
  const { rows } = await db.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sluice.sessions AS s ${where.length > 0 ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY s.started_at DESC, s.id DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows;
}

export async function getSession(db: Queryable, id: string): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sluice.sessions WHERE id = $1`, [id]);
  return rows[0] && toSessionRecord(rows[0]);
}

export async function listEvents(db: Queryable, sessionId: string): Promise<EventRecord[]> {
  const { rows } = await db.query<{ seq: number; time: number; kind: EventKind; payload: string; prev_hash: string; hash: string }>(
    'SELECT seq, time, kind, payload, prev_hash, hash FROM sluice.events WHERE session_id = $1 ORDER BY seq',
    [sessionId],
  );
  return rows.map((row) => ({ sessionId, seq: row.seq, time: row.time, kind: row.kind, payload: JSON.parse(row.payload) as unknown, prevHash: row.prev_hash, hash: row.hash }));
}

/**
 * One gateway's sessions, ledger, checkpoints and retention records, read in one snapshot
 * (REPEATABLE READ) so a session started meanwhile cannot be in the ledger but not the list.
 */
export async function readChain(db: Queryable, gateway: string): Promise<ChainRecords> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const sessions = await db.query<{ id: string; status: SessionStatus; final_hash: string | null }>(
      'SELECT id, status, final_hash FROM sluice.sessions WHERE gateway = $1 ORDER BY started_at, id',
      [gateway],
    );
    const ledger = await db.query<LedgerEntry>('SELECT n, kind, session_id, hash, time, prev, entry_hash FROM sluice.ledger WHERE gateway = $1 ORDER BY n', [gateway]);
    const checkpoints = await db.query<{ n: number; time: number; ledger_n: number; ledger_head: string; kid: string; jws: string }>(
      'SELECT n, time, ledger_n, ledger_head, kid, jws FROM sluice.checkpoints WHERE gateway = $1 ORDER BY n',
      [gateway],
    );
    const prunes = await db.query<{ n: number; horizon: number; sessions: string; jws: string }>('SELECT n, horizon, sessions, jws FROM sluice.prunes WHERE gateway = $1 ORDER BY n', [gateway]);
    await db.query('COMMIT');
    return {
      sessions: sessions.rows.map((row) => ({ id: row.id, status: row.status, finalHash: row.final_hash })),
      ledger: ledger.rows,
      checkpoints: checkpoints.rows.map((row) => ({ n: row.n, time: row.time, ledgerN: row.ledger_n, ledgerHead: row.ledger_head, kid: row.kid, jws: row.jws })),
      prunes: prunes.rows,
    };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** This gateway's ended sessions whose end is before `horizon` (ms), with the hashes its ledger names them by. */
export async function sessionsToPrune(db: Queryable, gateway: string, horizon: number): Promise<PrunedSession[]> {
  const { rows } = await db.query<{ id: string; first: string | null; last: string | null }>(
    "SELECT s.id, (SELECT hash FROM sluice.ledger WHERE gateway = s.gateway AND session_id = s.id AND kind = 'start' LIMIT 1) AS first, s.final_hash AS last " +
      "FROM sluice.sessions AS s WHERE s.gateway = $1 AND s.status <> 'open' AND s.ended_at < $2 AND s.final_hash IS NOT NULL ORDER BY s.started_at, s.id",
    [gateway, horizon],
  );
  return rows.flatMap((row) => (row.first && row.last ? [{ id: row.id, first: row.first, last: row.last }] : []));
}

function toSessionRecord(row: SessionRow): SessionRecord {
  const { statements, errors, rows } = row.counters;
  return {
    id: row.id,
    gateway: row.gateway,
    resource: row.resource,
    protocol: row.protocol,
    identity: row.identity,
    clientAddress: row.client_address,
    application: row.application,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    status: row.status,
    counters: { statements: statements ?? 0, errors: errors ?? 0, rows: rows ?? 0 },
  };
}

function sessionLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_SESSION_LIMIT;
  return Math.max(0, Math.trunc(limit));
}
