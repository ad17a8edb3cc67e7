import type { SessionMark, SessionQuery } from '../audit-types.js';
import type { SqliteConnection, SqlValue } from './sqlite-connection.js';
import type { SessionRow } from './session-queries.js';
import { containsPattern, jsonEscaped } from '../like-patterns.js';

// listSessions' filters. The row filters read the sessions row. `had` and `search` read the
// session's events, stored in batches (migration 001: a JSON array per session per commit), so
// they cost a pass over event text; to keep that pass short:
// - the sessions the row filters keep are taken newest first, a chunk at a time, until the
//   limit is reached; each event filter keeps the sessions of the chunk that pass it and hands
//   them to the next;
// - a chunk's batches are read with one scan of their key range, unless the chunk holds few of
//   the sessions in that range: then with a seek per session. Seeks are the exception because
//   event_batches is WITHOUT ROWID with rows often far larger than a page, and every key
//   comparison of a seek then reads a whole row's overflow chain;
// - a batch is parsed (json_each) only when its raw text holds a string every matching event
//   holds: stored events are canonical JSON (proxy/common/canonical-json.ts), no spaces, and
//   strings escaped as JSON.stringify escapes them.
//
// Case-insensitive matching is SQLite's LIKE: ASCII letters only (no ICU in this SQLite).

/** Sessions given to the event filters at once: the first chunk (at least the limit), and the largest. */
const FIRST_CHUNK = 50;
const LARGEST_CHUNK = 6_400;
/** Sessions asked about that are fewer than 1/SPARSE of those in their key range are sought one by one. */
const SPARSE = 4;

/** A batch row's event `e`, [seq, time, kind, payload, prev_hash, hash]. */
const KIND = "e.value ->> '$[2]'";
const PAYLOAD = (path: string) => `e.value ->> '$[3].${path}'`;

/** The LIKE escape character of every pattern built here. */
const ESCAPE = "ESCAPE '\\'";

interface EventTest {
  /** True for a batch `b` that may hold a matching event (cheap: its raw text). */
  readonly batch: string;
  /** True for a matching event `e` of that batch. */
  readonly event: string;
  readonly params: readonly SqlValue[];
}

/**
 * What each mark means in the events the gateway writes (proxy/postgres/statement-gate.ts,
 * result-limiter.ts, client-session.ts, proxy/approvals/*), read as proxy/common/transcript.ts
 * reads them. `batch` holds constant GLOB patterns only, which need no escaping; they leave out the
 * opening quote, the commonest character in JSON, where GLOB would stop at each one.
 */
const MARK_TESTS: Readonly<Record<SessionMark, EventTest>> = {
  // A `decision` to deny (policy, the masking guard, fast-path calls); a statement reported
  // refused (after a denied approval too, or when the store could not record it); a result
  // stopped or refused by a limit.
  denial: {
    batch: `(b.events GLOB '*deny"*' OR b.events GLOB '*limit"*')`,
    event:
      `CASE ${KIND} WHEN 'decision' THEN ${PAYLOAD('effect')} = 'deny' ` +
      `WHEN 'query' THEN ${PAYLOAD('decision.effect')} = 'deny' ` +
      `WHEN 'limit' THEN ${PAYLOAD('action')} IN ('stopped', 'denied', 'refused') ELSE 0 END`,
    params: [],
  },
  // Any approval event: the first of each is `requested`, recorded in the session that asked.
  approval: { batch: `b.events GLOB '*approval"*'`, event: `${KIND} = 'approval'`, params: [] },
  // A statement whose result had cells masked, or an HTTP response with masked values (`masked`: counts per rule).
  masking: {
    batch: `b.events GLOB '*masked"*'`,
    event:
      `CASE ${KIND} WHEN 'query' THEN json_type(e.value, '$[3].masked') = 'object' AND e.value -> '$[3].masked' <> '{}' ` +
      `WHEN 'http_response' THEN json_type(e.value, '$[3].masked') = 'object' AND e.value -> '$[3].masked' <> '{}' ` +
      `WHEN 'http_request' THEN json_type(e.value, '$[3].response.masked') = 'object' AND e.value -> '$[3].response.masked' <> '{}' ELSE 0 END`,
    params: [],
  },
  // An `error` event (an upstream login refused, a session aborted) or a statement that failed
  // upstream. A statement the gateway refused is a denial, not an error (the session's error
  // counter counts both, so it is not used here).
  error: {
    batch: `b.events GLOB '*error"*'`,
    event:
      `CASE ${KIND} WHEN 'error' THEN 1 WHEN 'query' THEN (${PAYLOAD('outcome')} = 'error' OR json_type(e.value, '$[3].error') IS NOT NULL) ` +
      `AND coalesce(${PAYLOAD('decision.effect')}, '') <> 'deny' ELSE 0 END`,
    params: [],
  },
};

/** Statement text as recorded (masked by content rules), or an HTTP request line, is `text` in these events. */
function searchTest(search: string): EventTest {
  return {
    batch: `b.events LIKE ? ${ESCAPE}`,
    event: `${KIND} IN ('query', 'decision', 'http_request') AND ${PAYLOAD('text')} LIKE ? ${ESCAPE}`,
    params: [containsPattern(jsonEscaped(search)), containsPattern(search)],
  };
}

export interface SqlFilter {
  readonly where: readonly string[];
  readonly params: readonly SqlValue[];
}

/** The conditions on the sessions row (`sessions AS s`) and their parameters in order. */
export function rowFilter(query: SessionQuery): SqlFilter {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, value: SqlValue) => {
    where.push(sql);
    params.push(value);
  };
  if (query.resource !== undefined) add('s.resource = ?', query.resource);
  if (query.status !== undefined) add('s.status = ?', query.status);
  if (query.protocol !== undefined) add('s.protocol = ?', query.protocol);
  if (query.since !== undefined) add('s.started_at >= ?', query.since);
  if (query.until !== undefined) add('s.started_at < ?', query.until);
  if (query.identity) add(`s.identity ->> '$.subject' LIKE ? ${ESCAPE}`, containsPattern(query.identity));
  return { where, params };
}

/** Whether the query reads events (had, search). */
export function readsEvents(query: SessionQuery): boolean {
  return (query.had?.length ?? 0) > 0 || Boolean(query.search);
}

/**
 * Newest first, the sessions the row filters keep whose events pass `had` and `search`: chunk by
 * chunk of candidates, each filter on the survivors of the one before (the rarest first).
 */
export async function listSessionsByEvents(db: SqliteConnection, query: SessionQuery, limit: number): Promise<SessionRow[]> {
  const { where, params } = rowFilter(query);
  const marks = (['approval', 'denial', 'masking', 'error'] as const).filter((mark) => query.had?.includes(mark));
  const found: SessionRow[] = [];
  let after: SessionRow | undefined;
  let chunk = Math.min(Math.max(FIRST_CHUNK, limit), LARGEST_CHUNK);
  while (found.length < limit) {
    const page = [...where, ...(after ? ['(s.started_at, s.id) < (?, ?)'] : [])];
    const candidates = await db.all<SessionRow>(
      `SELECT s.* FROM sessions AS s ${page.length > 0 ? `WHERE ${page.join(' AND ')} ` : ''}ORDER BY s.started_at DESC, s.id DESC LIMIT ?`,
      [...params, ...(after ? [after.started_at, after.id] : []), chunk],
    );
    let ids = candidates.map((row) => row.id);
    if (query.search) ids = await survivors(db, ids, searchTest(query.search));
    for (const mark of marks) {
      if (ids.length === 0) break;
      ids = await survivors(db, ids, MARK_TESTS[mark]);
    }
    const kept = new Set(ids);
    found.push(...candidates.filter((row) => kept.has(row.id)));
    if (candidates.length < chunk) break;
    after = candidates.at(-1);
    chunk = Math.min(chunk * 2, LARGEST_CHUNK);
  }
  return found.slice(0, limit);
}

/** The sessions among `ids` with an event passing `test`. */
async function survivors(db: SqliteConnection, ids: readonly string[], test: EventTest): Promise<string[]> {
  if (ids.length === 0) return [];
  const sorted = [...ids].sort();
  const list = JSON.stringify(sorted);
  const matches = `CASE WHEN ${test.batch} THEN EXISTS (SELECT 1 FROM json_each(b.events) AS e WHERE ${test.event}) ELSE 0 END`;
  const range = await db.get<{ sessions: number }>('SELECT count(*) AS sessions FROM sessions WHERE id BETWEEN ? AND ?', [sorted[0]!, sorted.at(-1)!]);
  if (ids.length * SPARSE < (range?.sessions ?? 0)) {
    // Few of the sessions in their key range: a seek each, stopping at its first match.
    const rows = await db.all<{ id: string }>(
      `SELECT c.value AS id FROM json_each(?) AS c WHERE EXISTS (SELECT 1 FROM event_batches AS b WHERE b.session_id = c.value AND ${matches})`,
      [list, ...test.params],
    );
    return rows.map((row) => row.id);
  }
  // Most of them: one scan of the key range, reading a row's events only for the ids asked
  // about (`+b.session_id` keeps SQLite from seeking once per id instead).
  const rows = await db.all<{ id: string }>(
    'SELECT DISTINCT b.session_id AS id FROM event_batches AS b ' +
      `WHERE b.session_id BETWEEN ? AND ? AND +b.session_id IN (SELECT value FROM json_each(?)) AND ${matches}`,
    [sorted[0]!, sorted.at(-1)!, list, ...test.params],
  );
  return rows.map((row) => row.id);
}
